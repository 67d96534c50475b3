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

Where each step lives: the field table in :mod:`.spec`; the email layer
(CMD-1..4, UPL-6) in :mod:`.parsing`; the per-field rules in :mod:`.identity`
(CMD-5), :mod:`.dependencies` (CMD-6), :mod:`.description` (CMD-7),
:mod:`.licenses` (CMD-8), :mod:`.extras` (CMD-9), :mod:`.urls` and :mod:`.emails`
(CMD-10), :mod:`.import_names` (CMD-11), :mod:`.classifiers` (POL-4) and
:mod:`.summary` (POL-5); their assembly in :mod:`.build`; messages in :mod:`.messages`.
"""

from __future__ import annotations

from typing import Literal, cast

from packaging.metadata import parse_email

from services.upload.validation.metadata.build import build, validate_with_packaging
from services.upload.validation.metadata.description import CONTENT_TYPES, MARKDOWN_VARIANTS
from services.upload.validation.metadata.parsing import (
    check_field_ages,
    check_field_names,
    check_unparsed,
    decode,
    drop_placeholders,
    parse_headers,
    read_metadata_version,
    resolve_description,
)
from services.upload.validation.metadata.spec import ACCEPTED_METADATA_VERSIONS, PLACEHOLDER, Fields
from services.upload.validation.metadata.spec import FIELDS as _FIELDS  # noqa: F401  (tests read the table)
from services.upload.validation.metadata.summary import MAX_SUMMARY_LENGTH
from services.upload.validation.metadata.urls import MAX_PROJECT_URL_LABEL_LENGTH, project_urls
from services.upload.validation.types import CoreMetadata, ValidationPolicy

__all__ = [
    "ACCEPTED_METADATA_VERSIONS",
    "CONTENT_TYPES",
    "MARKDOWN_VARIANTS",
    "MAX_PROJECT_URL_LABEL_LENGTH",
    "MAX_SUMMARY_LENGTH",
    "PLACEHOLDER",
    "Fields",
    "parse_core_metadata",
]


def parse_core_metadata(raw: bytes, *, source: Literal["wheel", "sdist"], policy: ValidationPolicy) -> CoreMetadata:
    """Parse and validate METADATA (wheel) or PKG-INFO (sdist) bytes (CMD-1..11, POL-4, POL-5).

    The artifact's metadata is authoritative (UPL-7); the result is what the
    index stores and serves.
    """
    filename = "METADATA" if source == "wheel" else "PKG-INFO"
    text = decode(raw, filename=filename, policy=policy)
    message = parse_headers(text, filename=filename)
    check_field_names(message)
    fields, unparsed = parse_email(text)
    fields = cast(Fields, dict(fields))
    resolve_description(fields, unparsed, message=message)
    check_unparsed(unparsed)
    metadata_version = read_metadata_version(fields, source=source)
    fields["project_urls"] = project_urls(message.get_all("project-url") or [])
    drop_placeholders(fields)
    check_field_ages(fields, metadata_version=metadata_version)
    result = build(fields, metadata_version=metadata_version, policy=policy)
    validate_with_packaging(fields)
    return result
