"""The email layer of core metadata (STANDARDS §15 CMD-1..4; UPL-6).

Size and UTF-8 (CMD-1) → email headers (CMD-1) → repeated and unknown fields
(CMD-4) → where the description lives (CMD-1) → Metadata-Version (CMD-2) →
``UNKNOWN`` placeholders (UPL-6) → fields newer than the declared version (CMD-3).
"""

from __future__ import annotations

import email.errors
import email.message
import email.parser
import email.policy
from typing import Literal

from services.upload.errors import InvalidMetadataError
from services.upload.validation.metadata.messages import invalid, invalid_field, show
from services.upload.validation.metadata.spec import (
    ACCEPTED_METADATA_VERSIONS,
    BY_HEADER,
    FIELDS,
    PLACEHOLDER,
    REQUIRED_KEYS,
    SPEC_URL,
    STRING_KEYS,
    Fields,
)
from services.upload.validation.types import ValidationPolicy

# --- CMD-1: bytes, encoding, header syntax ---------------------------------------------


def decode(raw: bytes, *, filename: str, policy: ValidationPolicy) -> str:
    """CMD-1: refuse oversized files and anything that is not UTF-8."""
    if len(raw) > policy.max_metadata_bytes:
        raise InvalidMetadataError(
            f"Invalid {filename}: it is {len(raw)} bytes, larger than this index's limit of "
            f"{policy.max_metadata_bytes} bytes; shorten the long description (the README) and rebuild."
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InvalidMetadataError(
            f"Invalid {filename}: byte 0x{raw[exc.start]:02x} on line {line} is not valid UTF-8; core "
            "metadata must be UTF-8 encoded: save the README and project files as UTF-8 and rebuild."
        ) from exc
    if text.startswith("\ufeff"):
        raise InvalidMetadataError(
            f"Invalid {filename}: it starts with a byte order mark; core metadata must start with the "
            "'Metadata-Version:' header: rebuild with a current build back-end."
        )
    return text


def parse_headers(text: str, *, filename: str) -> email.message.Message:
    """CMD-1: RFC 822 headers with ``compat32`` semantics; a broken header block is refused."""
    message = email.parser.Parser(policy=email.policy.compat32).parsestr(text)
    for defect in message.defects:
        if isinstance(defect, email.errors.MissingHeaderBodySeparatorDefect):
            payload = message.get_payload()
            line = payload.splitlines()[0] if isinstance(payload, str) and payload else ""
            raise InvalidMetadataError(
                f"Invalid {filename}: the line {show(line)} is not a 'Field: value' header; every header "
                "line needs a colon, and the long description must follow one blank line after the headers."
            )
        if isinstance(defect, email.errors.FirstHeaderLineIsContinuationDefect):
            raise InvalidMetadataError(
                f"Invalid {filename}: the first line starts with whitespace; it must be the "
                "'Metadata-Version:' header with no indentation."
            )
    return message


def check_field_names(message: email.message.Message) -> None:
    """CMD-4: unknown fields (SHOULD) and single-use fields given twice (MUST) are refused."""
    written = message.keys()
    names = [name.lower() for name in written]
    for name in dict.fromkeys(names):
        key = BY_HEADER.get(name)
        if key is None:
            raise invalid_field(
                written[names.index(name)],
                "not a core metadata field",
                f"remove it or correct its spelling; the known fields are listed at {SPEC_URL}",
            )
        field = FIELDS[key]
        if not field.multiple and names.count(name) > 1:
            raise invalid_field(
                field.header, f"given {names.count(name)} times but may appear only once", "keep a single value"
            )


def resolve_description(fields: Fields, unparsed: dict[str, list[str]], *, message: email.message.Message) -> None:
    """CMD-1: Description comes from the header (unfolded) or the body, never both."""
    fields.pop("description", None)
    unparsed.pop("description", None)
    headers = [str(h) for h in message.get_all("description") or [] if str(h).strip() not in ("", PLACEHOLDER)]
    payload = message.get_payload()
    body = payload if isinstance(payload, str) and payload.strip() else ""
    if headers and body:
        raise invalid_field(
            "Description",
            "given both as a header and as the message body",
            "keep only one: put the long description after a blank line and remove the 'Description:' header",
        )
    if headers:
        fields["description"] = unfold(headers[0])
    elif body:
        fields["description"] = body


def unfold(value: str) -> str:
    """CMD-1: undo the ``7 spaces + |`` (or distutils' 8 spaces) folding of a multi-line header."""
    first, *rest = value.split("\n")
    lines = [first] + [line[8:] if line.startswith(("       |", "        ")) else line.lstrip() for line in rest]
    return "\n".join(lines)


def check_unparsed(unparsed: dict[str, list[str]]) -> None:
    """CMD-1: anything packaging could not parse that the earlier checks did not explain."""
    for name, values in unparsed.items():
        if name == "project-url":
            continue  # duplicate labels: reported by project_urls (CMD-10)
        raise invalid_field(name, f"has unparseable data {show(values[0])}", f"see {SPEC_URL}")


# --- CMD-2, CMD-3, UPL-6 ---------------------------------------------------------------


def read_metadata_version(fields: Fields, *, source: Literal["wheel", "sdist"]) -> str:
    """CMD-2: Metadata-Version is required, one of 1.0–2.6 (no 2.0); wheels need 1.1 or later."""
    value = str(fields.get("metadata_version", "")).strip()
    supported = ", ".join(ACCEPTED_METADATA_VERSIONS)
    if not value:
        raise InvalidMetadataError(
            "Missing Metadata-Version: core metadata must start with a 'Metadata-Version:' header "
            f"(one of {supported}); rebuild with a current build back-end."
        )
    if value == "2.0":
        raise invalid("Metadata-Version", value, "there is no core metadata version 2.0", f"use one of {supported}")
    if value not in ACCEPTED_METADATA_VERSIONS:
        raise invalid("Metadata-Version", value, "not a known core metadata version", f"use one of {supported}")
    if source == "wheel" and value == "1.0":
        raise invalid(
            "Metadata-Version",
            value,
            "wheels need Metadata-Version 1.1 or later",
            "rebuild the wheel with a current build back-end",
        )
    fields["metadata_version"] = value
    return value


def drop_placeholders(fields: Fields) -> None:
    """UPL-6: empty values and the ``UNKNOWN`` placeholder mean the field is absent."""
    for key in STRING_KEYS - set(REQUIRED_KEYS) - {"description"}:
        if key in fields:
            value = fields[key].strip()
            if value in ("", PLACEHOLDER):
                del fields[key]
            else:
                fields[key] = value
    if fields.get("description", "").strip() in ("", PLACEHOLDER):
        fields.pop("description", None)
    for key in ("keywords", "platforms", "supported_platforms"):
        values = [v for v in fields.get(key, []) if v.strip() not in ("", PLACEHOLDER)]
        if values:
            fields[key] = values
        else:
            fields.pop(key, None)
    if not fields.get("project_urls"):
        fields.pop("project_urls", None)


def check_field_ages(fields: Fields, *, metadata_version: str) -> None:
    """CMD-3: no field newer than the declared Metadata-Version; License-File under 2.4 is dropped."""
    declared = ACCEPTED_METADATA_VERSIONS.index(metadata_version)
    for key in list(fields):
        field = FIELDS[key]
        if ACCEPTED_METADATA_VERSIONS.index(field.added) <= declared:
            continue
        if key == "license_files":
            del fields[key]  # setuptools wrote it before 2.4 existed; twine drops it too
            continue
        raise invalid_field(
            field.header,
            f"added in Metadata-Version {field.added}, but this file declares {metadata_version}",
            f"declare 'Metadata-Version: {field.added}' or later, or remove the field",
        )
