"""Core metadata parsing and validation (STANDARDS §15 CMD-1..11; NAM-3, VER-1, VER-3, VER-4, POL-4, POL-5, UPL-6).

Reads a wheel's ``.dist-info/METADATA`` or an sdist's ``PKG-INFO`` and returns a
validated :class:`CoreMetadata`, or raises :class:`InvalidMetadataError` whose
message names the field and value, says what is wrong and how to fix it (twine
prints it verbatim, UPL-11).

Pipeline: size and UTF-8 (CMD-1) → email headers (CMD-1) → repeated and unknown
fields (CMD-4) → Metadata-Version (CMD-2) → ``UNKNOWN`` placeholders (UPL-6) →
fields newer than the declared version (CMD-3) → one check per field (CMD-5..11,
POL-4, POL-5) → ``packaging.metadata.Metadata.from_raw(validate=True)`` as a
backstop for anything the field checks missed.
"""

from __future__ import annotations

import email.errors
import email.message
import email.parser
import email.policy
import email.utils
import io
import keyword
import re
from dataclasses import dataclass
from typing import Any, Final, Literal, cast
from urllib.parse import urlsplit

from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression
from packaging.metadata import Metadata, RawMetadata, parse_email
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidName, canonicalize_name
from readme_renderer.rst import render as render_rst
from trove_classifiers import all_classifiers, deprecated_classifiers

from services.upload.errors import InvalidMetadataError
from services.upload.validation.types import CoreMetadata, ValidationPolicy
from shared.names import is_valid_name, parse_version

Fields = dict[str, Any]  # packaging's RawMetadata, edited in place

# CMD-2: there is no 2.0; the order is the age order used by CMD-3.
ACCEPTED_METADATA_VERSIONS: Final = ("1.0", "1.1", "1.2", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6")
MAX_SUMMARY_LENGTH: Final = 512  # POL-5
MAX_PROJECT_URL_LABEL_LENGTH: Final = 32  # CMD-10, POL-5
CONTENT_TYPES: Final = frozenset({"text/plain", "text/x-rst", "text/markdown"})  # CMD-7
MARKDOWN_VARIANTS: Final = ("GFM", "CommonMark")  # CMD-7
PLACEHOLDER: Final = "UNKNOWN"  # UPL-6

_SPEC_URL: Final = "https://packaging.python.org/specifications/core-metadata/"
_CLASSIFIERS_URL: Final = "https://pypi.org/classifiers/"
_LINE_BREAK_RE: Final = re.compile(r"[\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_ADDRESS_RE: Final = re.compile(r"[^@\s]+@[^@\s]+")
_EXTRA_RE: Final = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*\Z")  # CMD-9, PEP 685
_LEGACY_PROVIDES_RE: Final = re.compile(r"(?P<name>[^\s(;]+)\s*\(\s*(?P<version>[^()\s]+)\s*\)\s*(;.*)?\Z")


@dataclass(frozen=True)
class _Field:
    header: str  # canonical spelling, used in messages
    added: str  # first Metadata-Version with the field (CMD-3)
    multiple: bool = False  # multi-use (CMD-4)


# STANDARDS §15 table, keyed by packaging's RawMetadata names.
_FIELDS: Final[dict[str, _Field]] = {
    "metadata_version": _Field("Metadata-Version", "1.0"),
    "name": _Field("Name", "1.0"),
    "version": _Field("Version", "1.0"),
    "platforms": _Field("Platform", "1.0", True),
    "summary": _Field("Summary", "1.0"),
    "description": _Field("Description", "1.0"),
    "keywords": _Field("Keywords", "1.0"),
    "home_page": _Field("Home-page", "1.0"),
    "author": _Field("Author", "1.0"),
    "author_email": _Field("Author-email", "1.0"),
    "license": _Field("License", "1.0"),
    "supported_platforms": _Field("Supported-Platform", "1.1", True),
    "download_url": _Field("Download-URL", "1.1"),
    "classifiers": _Field("Classifier", "1.1", True),
    "requires": _Field("Requires", "1.1", True),
    "provides": _Field("Provides", "1.1", True),
    "obsoletes": _Field("Obsoletes", "1.1", True),
    "maintainer": _Field("Maintainer", "1.2"),
    "maintainer_email": _Field("Maintainer-email", "1.2"),
    "requires_dist": _Field("Requires-Dist", "1.2", True),
    "provides_dist": _Field("Provides-Dist", "1.2", True),
    "obsoletes_dist": _Field("Obsoletes-Dist", "1.2", True),
    "requires_python": _Field("Requires-Python", "1.2"),
    "requires_external": _Field("Requires-External", "1.2", True),
    "project_urls": _Field("Project-URL", "1.2", True),
    "description_content_type": _Field("Description-Content-Type", "2.1"),
    "provides_extra": _Field("Provides-Extra", "2.1", True),
    "dynamic": _Field("Dynamic", "2.2", True),
    "license_expression": _Field("License-Expression", "2.4"),
    "license_files": _Field("License-File", "2.4", True),
    "import_names": _Field("Import-Name", "2.5", True),
    "import_namespaces": _Field("Import-Namespace", "2.5", True),
}
_BY_HEADER: Final = {f.header.lower(): key for key, f in _FIELDS.items()}
_STRING_KEYS: Final = frozenset(k for k, f in _FIELDS.items() if not f.multiple) - {"keywords"}
_REQUIRED_KEYS: Final = ("metadata_version", "name", "version")
_NOT_DYNAMIC: Final = frozenset({"metadata-version", "name", "version"})  # CMD-5


def parse_core_metadata(raw: bytes, *, source: Literal["wheel", "sdist"], policy: ValidationPolicy) -> CoreMetadata:
    """Parse and validate METADATA (wheel) or PKG-INFO (sdist) bytes (CMD-1..11, POL-4, POL-5).

    The artifact's metadata is authoritative (UPL-7); the result is what the
    index stores and serves.
    """
    filename = "METADATA" if source == "wheel" else "PKG-INFO"
    text = _decode(raw, filename=filename, policy=policy)
    message = _parse_headers(text, filename=filename)
    _check_field_names(message)
    fields, unparsed = parse_email(text)
    fields = cast(Fields, dict(fields))
    _resolve_description(fields, unparsed, message=message)
    _check_unparsed(unparsed)
    metadata_version = _metadata_version(fields, source=source)
    fields["project_urls"] = _project_urls(message.get_all("project-url") or [])
    _drop_placeholders(fields)
    _check_field_ages(fields, metadata_version=metadata_version)
    result = _build(fields, metadata_version=metadata_version, policy=policy)
    _validate_with_packaging(fields)
    return result


# --- CMD-1: bytes, encoding, header syntax ---------------------------------------------


def _decode(raw: bytes, *, filename: str, policy: ValidationPolicy) -> str:
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


def _parse_headers(text: str, *, filename: str) -> email.message.Message:
    """CMD-1: RFC 822 headers with ``compat32`` semantics; a broken header block is refused."""
    message = email.parser.Parser(policy=email.policy.compat32).parsestr(text)
    for defect in message.defects:
        if isinstance(defect, email.errors.MissingHeaderBodySeparatorDefect):
            payload = message.get_payload()
            line = payload.splitlines()[0] if isinstance(payload, str) and payload else ""
            raise InvalidMetadataError(
                f"Invalid {filename}: the line {_show(line)} is not a 'Field: value' header; every header "
                "line needs a colon, and the long description must follow one blank line after the headers."
            )
        if isinstance(defect, email.errors.FirstHeaderLineIsContinuationDefect):
            raise InvalidMetadataError(
                f"Invalid {filename}: the first line starts with whitespace; it must be the "
                "'Metadata-Version:' header with no indentation."
            )
    return message


def _check_field_names(message: email.message.Message) -> None:
    """CMD-4: unknown fields (SHOULD) and single-use fields given twice (MUST) are refused."""
    written = message.keys()
    names = [name.lower() for name in written]
    for name in dict.fromkeys(names):
        key = _BY_HEADER.get(name)
        if key is None:
            raise _invalid_field(
                written[names.index(name)],
                "not a core metadata field",
                f"remove it or correct its spelling; the known fields are listed at {_SPEC_URL}",
            )
        field = _FIELDS[key]
        if not field.multiple and names.count(name) > 1:
            raise _invalid_field(
                field.header, f"given {names.count(name)} times but may appear only once", "keep a single value"
            )


def _resolve_description(fields: Fields, unparsed: dict[str, list[str]], *, message: email.message.Message) -> None:
    """CMD-1: Description comes from the header (unfolded) or the body, never both."""
    fields.pop("description", None)
    unparsed.pop("description", None)
    headers = [str(h) for h in message.get_all("description") or [] if str(h).strip() not in ("", PLACEHOLDER)]
    payload = message.get_payload()
    body = payload if isinstance(payload, str) and payload.strip() else ""
    if headers and body:
        raise _invalid_field(
            "Description",
            "given both as a header and as the message body",
            "keep only one: put the long description after a blank line and remove the 'Description:' header",
        )
    if headers:
        fields["description"] = _unfold(headers[0])
    elif body:
        fields["description"] = body


def _unfold(value: str) -> str:
    """CMD-1: undo the ``7 spaces + |`` (or distutils' 8 spaces) folding of a multi-line header."""
    first, *rest = value.split("\n")
    lines = [first] + [line[8:] if line.startswith(("       |", "        ")) else line.lstrip() for line in rest]
    return "\n".join(lines)


def _check_unparsed(unparsed: dict[str, list[str]]) -> None:
    """CMD-1: anything packaging could not parse that the earlier checks did not explain."""
    for name, values in unparsed.items():
        if name == "project-url":
            continue  # duplicate labels: reported by _project_urls (CMD-10)
        raise _invalid_field(name, f"has unparseable data {_show(values[0])}", f"see {_SPEC_URL}")


# --- CMD-2, CMD-3, UPL-6 ---------------------------------------------------------------


def _metadata_version(fields: Fields, *, source: Literal["wheel", "sdist"]) -> str:
    """CMD-2: Metadata-Version is required, one of 1.0–2.6 (no 2.0); wheels need 1.1 or later."""
    value = str(fields.get("metadata_version", "")).strip()
    supported = ", ".join(ACCEPTED_METADATA_VERSIONS)
    if not value:
        raise InvalidMetadataError(
            "Missing Metadata-Version: core metadata must start with a 'Metadata-Version:' header "
            f"(one of {supported}); rebuild with a current build back-end."
        )
    if value == "2.0":
        raise _invalid("Metadata-Version", value, "there is no core metadata version 2.0", f"use one of {supported}")
    if value not in ACCEPTED_METADATA_VERSIONS:
        raise _invalid("Metadata-Version", value, "not a known core metadata version", f"use one of {supported}")
    if source == "wheel" and value == "1.0":
        raise _invalid(
            "Metadata-Version",
            value,
            "wheels need Metadata-Version 1.1 or later",
            "rebuild the wheel with a current build back-end",
        )
    fields["metadata_version"] = value
    return value


def _drop_placeholders(fields: Fields) -> None:
    """UPL-6: empty values and the ``UNKNOWN`` placeholder mean the field is absent."""
    for key in _STRING_KEYS - set(_REQUIRED_KEYS) - {"description"}:
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


def _check_field_ages(fields: Fields, *, metadata_version: str) -> None:
    """CMD-3: no field newer than the declared Metadata-Version; License-File under 2.4 is dropped."""
    declared = ACCEPTED_METADATA_VERSIONS.index(metadata_version)
    for key in list(fields):
        field = _FIELDS[key]
        if ACCEPTED_METADATA_VERSIONS.index(field.added) <= declared:
            continue
        if key == "license_files":
            del fields[key]  # setuptools wrote it before 2.4 existed; twine drops it too
            continue
        raise _invalid_field(
            field.header,
            f"added in Metadata-Version {field.added}, but this file declares {metadata_version}",
            f"declare 'Metadata-Version: {field.added}' or later, or remove the field",
        )


# --- building the result ----------------------------------------------------------------


def _build(fields: Fields, *, metadata_version: str, policy: ValidationPolicy) -> CoreMetadata:
    """Run the per-field checks and assemble the validated metadata."""
    name = _name(fields.get("name", ""))
    version = _version(fields.get("version", ""), policy=policy)
    import_names, import_namespaces = _import_names(fields)
    description = fields.get("description")
    content_type = _description_content_type(fields.get("description_content_type"))
    _check_renders(description, content_type=content_type)
    _check_license(fields)
    return CoreMetadata(
        metadata_version=metadata_version,
        name=name,
        version=version,
        summary=_summary(fields.get("summary")),
        description=description,
        description_content_type=content_type,
        keywords=_keywords(fields.get("keywords", [])),
        home_page=_check_url("Home-page", fields.get("home_page")),
        download_url=_check_url("Download-URL", fields.get("download_url")),
        author=fields.get("author"),
        author_email=_addresses("Author-email", fields.get("author_email")),
        maintainer=fields.get("maintainer"),
        maintainer_email=_addresses("Maintainer-email", fields.get("maintainer_email")),
        license=_unfold(fields["license"]) if "license" in fields else None,
        license_expression=_license_expression(fields.get("license_expression")),
        license_files=_license_files(fields.get("license_files", [])),
        classifiers=_classifiers(fields.get("classifiers", [])),
        platforms=fields.get("platforms", []),
        supported_platforms=fields.get("supported_platforms", []),
        requires_dist=_requirements("Requires-Dist", fields.get("requires_dist", []), policy=policy),
        provides_dist=_requirements("Provides-Dist", fields.get("provides_dist", []), policy=policy),
        obsoletes_dist=_requirements("Obsoletes-Dist", fields.get("obsoletes_dist", []), policy=policy),
        requires_external=[v.strip() for v in fields.get("requires_external", [])],
        requires_python=_requires_python(fields.get("requires_python")),
        project_urls=fields.get("project_urls", {}),
        provides_extra=_extras(fields.get("provides_extra", []), metadata_version=metadata_version),
        dynamic=_dynamic(fields.get("dynamic", [])),
        import_names=import_names,
        import_namespaces=import_namespaces,
    )


def _validate_with_packaging(fields: Fields) -> None:
    """CMD-1: ``packaging.metadata`` validation as a backstop behind the field checks."""
    try:
        Metadata.from_raw(cast(RawMetadata, fields), validate=True)
    except ExceptionGroup as group:
        problems = "; ".join(sorted(str(exc) for exc in group.exceptions))
        raise InvalidMetadataError(f"Invalid core metadata: {problems}; see {_SPEC_URL}.") from group


# --- CMD-5: Name, Version, Dynamic ------------------------------------------------------


def _name(value: str) -> str:
    """CMD-5, NAM-3: ASCII letters, digits, ``._-``; starting and ending alphanumeric (not stripped)."""
    if not value.strip():
        raise InvalidMetadataError("Missing Name: add a 'Name:' header with the project name.")
    if not is_valid_name(value):
        raise _invalid(
            "Name",
            value,
            "a project name may contain only ASCII letters, digits, '.', '_' and '-', "
            "and must start and end with a letter or digit",
            "rename the project",
        )
    return value


def _version(value: str, *, policy: ValidationPolicy) -> str:
    """CMD-5, VER-1, VER-3, VER-4: a PEP 440 version, stored normalised; local labels per policy."""
    if not value.strip():
        raise InvalidMetadataError("Missing Version: add a 'Version:' header with a PEP 440 version.")
    parsed = parse_version(value)
    if parsed is None:
        raise _invalid(
            "Version",
            value,
            "not a valid PEP 440 version",
            "use a version such as 1.0, 1.0rc1 or 1.0.post1",
        )
    if parsed.local is not None and not policy.allow_local_versions:
        raise _invalid(
            "Version",
            value,
            f"local versions ('+{parsed.local}') are not allowed on this index",
            f"upload it as {parsed.public!r}",
        )
    return str(parsed)


def _dynamic(values: list[str]) -> list[str]:
    """CMD-5: Dynamic lists real field names, never Name, Version or Metadata-Version."""
    result = []
    for value in values:
        name = value.strip().lower()
        if name in _NOT_DYNAMIC:
            raise _invalid("Dynamic", value, f"{value.strip()} can never be dynamic", "remove it from Dynamic")
        if name not in _BY_HEADER:
            raise _invalid("Dynamic", value, "not a core metadata field name", f"list field names from {_SPEC_URL}")
        result.append(_FIELDS[_BY_HEADER[name]].header)
    return result


# --- CMD-6: Requires-Python and dependency fields ---------------------------------------


def _requires_python(value: str | None) -> str | None:
    """CMD-6: a PEP 440 specifier set, no markers."""
    if value is None:
        return None
    try:
        SpecifierSet(value)
    except InvalidSpecifier as exc:
        raise _invalid(
            "Requires-Python",
            value,
            "not a valid version specifier set",
            "use e.g. '>=3.9' or '>=3.9,<4' (no '.*' with '>')",
        ) from exc
    return value


def _requirements(header: str, values: list[str], *, policy: ValidationPolicy) -> list[str]:
    """CMD-6: PEP 508 dependency specifiers; direct references refused on a public index."""
    result = []
    for value in (v.strip() for v in values):
        requirement = _requirement(header, value)
        if requirement is not None and requirement.url and not policy.allow_direct_references:
            raise _invalid(
                header,
                value,
                "direct references ('name @ URL') are not allowed on this index",
                "depend on a released version by name instead",
            )
        result.append(value)
    return result


def _requirement(header: str, value: str) -> Requirement | None:
    """CMD-6: parse one specifier; Provides-Dist may also be the legacy ``name (version)``."""
    try:
        return Requirement(value)
    except InvalidRequirement as exc:
        legacy = _LEGACY_PROVIDES_RE.match(value)
        if header == "Provides-Dist" and legacy and is_valid_name(legacy["name"]) and parse_version(legacy["version"]):
            return None
        reason = str(exc).splitlines()[0]
        raise _invalid(
            header,
            value,
            f"not a valid dependency specifier ({reason})",
            "use PEP 508 syntax, e.g. 'name>=1.0'",
        ) from exc


# --- CMD-7: Description-Content-Type and rendering ---------------------------------------


def _description_content_type(value: str | None) -> str | None:
    """CMD-7: text/plain, text/x-rst or text/markdown; charset UTF-8; markdown variant GFM or CommonMark."""
    if value is None:
        return None
    header = email.message.Message()
    header["Content-Type"] = value
    content_type = header.get_content_type()
    allowed = ", ".join(sorted(CONTENT_TYPES))
    if content_type not in CONTENT_TYPES or value.split(";")[0].strip().lower() != content_type:
        raise _invalid("Description-Content-Type", value, "not a supported content type", f"use one of {allowed}")
    charset = header.get_param("charset", "UTF-8")
    if not isinstance(charset, str) or charset.upper() != "UTF-8":
        raise _invalid(
            "Description-Content-Type",
            value,
            "only charset=UTF-8 is allowed",
            "remove the charset or use UTF-8",
        )
    variant = header.get_param("variant", "GFM")
    if content_type == "text/markdown" and variant not in MARKDOWN_VARIANTS:
        raise _invalid(
            "Description-Content-Type", value, "unknown Markdown variant", "use variant=GFM or variant=CommonMark"
        )
    return value


def _check_renders(description: str | None, *, content_type: str | None) -> None:
    """CMD-7: an explicit reStructuredText description must render (readme_renderer, as PyPI does)."""
    if description is None or content_type is None or not content_type.lower().startswith("text/x-rst"):
        return
    warnings = io.StringIO()  # keeps docutils off stderr
    if render_rst(description, stream=warnings) is None:
        details = " ".join(warnings.getvalue().replace("<string>:", "line ").split())[:300]
        raise InvalidMetadataError(
            "Invalid Description: the reStructuredText long description does not render "
            f"({details}); fix the markup (check it with 'twine check'), or declare "
            "'Description-Content-Type: text/markdown' or 'text/plain'."
        )


# --- CMD-8: licences --------------------------------------------------------------------


def _check_license(fields: Fields) -> None:
    """CMD-8: License and License-Expression are mutually exclusive."""
    if "license" in fields and "license_expression" in fields:
        raise InvalidMetadataError(
            "Invalid License: License cannot be combined with License-Expression; remove the "
            "License field (in pyproject.toml use only 'license = \"<SPDX expression>\"')."
        )


def _license_expression(value: str | None) -> str | None:
    """CMD-8: a valid SPDX expression, stored in its case-normalised form."""
    if value is None:
        return None
    try:
        return str(canonicalize_license_expression(value))
    except InvalidLicenseExpression as exc:
        raise _invalid(
            "License-Expression",
            value,
            f"not a valid SPDX license expression ({exc})",
            "use SPDX identifiers such as 'MIT OR Apache-2.0' (https://spdx.org/licenses/) or 'LicenseRef-<name>'",
        ) from exc


def _license_files(values: list[str]) -> list[str]:
    """CMD-8: License-File paths are relative, resolved, use ``/`` and contain no ``..``."""
    for value in values:
        problem = _license_path_problem(value)
        if problem:
            raise _invalid(
                "License-File",
                value,
                problem,
                "give the path relative to the project root, e.g. 'LICENSES/MIT.txt'",
            )
    return list(values)


def _license_path_problem(path: str) -> str | None:
    """CMD-8: what is wrong with one License-File path, if anything."""
    if not path.strip():
        return "the path is empty"
    if "\\" in path:
        return "paths must use '/' as the separator"
    if path.startswith("/") or re.match(r"[A-Za-z]:", path):
        return "paths must be relative"
    if ".." in path:
        return "paths must not contain '..'"
    if any(c in path for c in "*?["):
        return "glob patterns must be resolved to file paths"
    return None


# --- CMD-9, CMD-10, CMD-11 ---------------------------------------------------------------


def _extras(values: list[str], *, metadata_version: str) -> list[str]:
    """CMD-9: extra names; from 2.3 they must already be normalised (PEP 685). Stored normalised."""
    normalized_required = ACCEPTED_METADATA_VERSIONS.index(metadata_version) >= ACCEPTED_METADATA_VERSIONS.index("2.3")
    result: list[str] = []
    for value in (v.strip() for v in values):
        try:
            extra = str(canonicalize_name(value, validate=True))
        except InvalidName as exc:
            raise _invalid(
                "Provides-Extra",
                value,
                "not a valid extra name",
                "use letters, digits, '-', '_' and '.'",
            ) from exc
        if normalized_required and not _EXTRA_RE.match(value):
            raise _invalid(
                "Provides-Extra",
                value,
                f"Metadata-Version {metadata_version} requires normalized extra names (PEP 685)",
                f"write it as {extra!r}",
            )
        if extra not in result:
            result.append(extra)
    return result


def _project_urls(values: list[str]) -> dict[str, str]:
    """CMD-10, POL-5: ``Label, URL`` with a unique label of at most 32 characters and an http(s) URL."""
    urls: dict[str, str] = {}
    for value in (str(v) for v in values):
        label, comma, url = (part.strip() for part in value.partition(","))
        if not comma or not label or not url:
            raise _invalid(
                "Project-URL",
                value,
                "must be 'Label, URL'",
                "e.g. 'Documentation, https://example.org/docs'",
            )
        if len(label) > MAX_PROJECT_URL_LABEL_LENGTH:
            raise _invalid(
                "Project-URL",
                value,
                f"the label is {len(label)} characters; at most {MAX_PROJECT_URL_LABEL_LENGTH} are allowed",
                "shorten the label",
            )
        if label in urls:
            raise _invalid("Project-URL", value, f"the label {label!r} is used twice", "give each URL a distinct label")
        urls[label] = _check_url("Project-URL", url) or url
    return urls


def _check_url(header: str, value: str | None) -> str | None:
    """CMD-10: an absolute http(s) URL with a host."""
    if value is None:
        return None
    try:
        parts = urlsplit(value)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid or any(c.isspace() for c in value):
        raise _invalid(
            header,
            value,
            "not a valid http(s) URL",
            "use an absolute URL such as 'https://example.org/project'",
        )
    return value


def _addresses(header: str, value: str | None) -> str | None:
    """CMD-10: an RFC 822 address list, e.g. ``Jane Doe <jane@example.org>, bob@example.org``."""
    if value is None:
        return None
    addresses = email.utils.getaddresses([value])
    if not addresses or any(not _ADDRESS_RE.fullmatch(addr) for _, addr in addresses):
        raise _invalid(
            header,
            value,
            "not a valid RFC 822 address list",
            "use 'Name <user@example.org>' entries separated by commas, quoting names that contain commas",
        )
    return value


def _import_names(fields: Fields) -> tuple[list[str], list[str]]:
    """CMD-11: dotted identifiers with optional ``; private``; no name both Import-Name and Import-Namespace."""
    names = [_import_name("Import-Name", v) for v in fields.get("import_names", [])]
    namespaces = [_import_name("Import-Namespace", v) for v in fields.get("import_namespaces", [])]
    clashes = {n.split(";")[0].strip() for n in names} & {n.split(";")[0].strip() for n in namespaces}
    if clashes:
        name = sorted(clashes)[0]
        raise _invalid(
            "Import-Name",
            name,
            "also listed as an Import-Namespace",
            "list each import name in one field only",
        )
    return names, namespaces


def _import_name(header: str, value: str) -> str:
    """CMD-11: one ``dotted.name`` or ``dotted.name; private`` entry."""
    name, semicolon, option = (part.strip() for part in value.partition(";"))
    if semicolon and option != "private":
        raise _invalid(header, value, f"unknown option {option!r}", "the only option is '; private'")
    for part in name.split("."):
        if not part.isidentifier() or keyword.iskeyword(part):
            raise _invalid(
                header,
                value,
                f"{part!r} is not a valid Python identifier",
                "use a dotted import path such as 'pkg.sub'",
            )
    return f"{name}; private" if semicolon else name


# --- POL-4, POL-5, keywords --------------------------------------------------------------


def _classifiers(values: list[str]) -> list[str]:
    """POL-4: known trove classifiers only; ``Private ::`` and deprecated ones refused."""
    for value in values:
        if value.startswith("Private ::"):
            raise _invalid(
                "Classifier",
                value,
                "'Private :: …' classifiers are refused by package indexes",
                "remove it to publish this file",
            )
        if value in deprecated_classifiers:
            replacements = deprecated_classifiers[value]
            fix = "use " + " or ".join(repr(r) for r in replacements) + " instead" if replacements else "remove it"
            raise _invalid("Classifier", value, "deprecated", fix)
        if value not in all_classifiers:
            raise _invalid("Classifier", value, "not a known trove classifier", f"see {_CLASSIFIERS_URL}")
    return list(values)


def _summary(value: str | None) -> str | None:
    """POL-5: Summary is one line of at most 512 characters."""
    if value is None:
        return None
    if _LINE_BREAK_RE.search(value):
        raise _invalid("Summary", value, "must be a single line", "put longer text in the description")
    if len(value) > MAX_SUMMARY_LENGTH:
        raise _invalid(
            "Summary",
            value,
            f"{len(value)} characters, more than {MAX_SUMMARY_LENGTH}",
            "shorten it; put details in the description",
        )
    return value


def _keywords(values: list[str]) -> list[str]:
    """Keywords: comma-separated (whitespace-separated if there is no comma), stripped, empties dropped."""
    text = ",".join(values)
    parts = text.split(",") if "," in text else text.split()
    return [part.strip() for part in parts if part.strip()]


# --- messages ---------------------------------------------------------------------------


def _invalid(header: str, value: str, problem: str, fix: str) -> InvalidMetadataError:
    """``Invalid <Field> '<value>': <problem>; <fix>.`` (UPL-11)."""
    return InvalidMetadataError(f"Invalid {header} {_show(value)}: {problem}; {fix}.", details={"field": header})


def _invalid_field(header: str, problem: str, fix: str) -> InvalidMetadataError:
    """``Invalid field '<Field>': <problem>; <fix>.`` for problems with the field itself."""
    return InvalidMetadataError(f"Invalid field {header!r}: {problem}; {fix}.", details={"field": header})


def _show(value: str, *, limit: int = 80) -> str:
    """``repr`` of a value, shortened for a one-line message."""
    return repr(value if len(value) <= limit else value[:limit] + "…")
