"""Name, Version and Dynamic (STANDARDS §15 CMD-5; NAM-3, VER-1, VER-3, VER-4)."""

from __future__ import annotations

from typing import Final

from services.upload.errors import InvalidMetadataError
from services.upload.validation.metadata.messages import invalid
from services.upload.validation.metadata.spec import BY_HEADER, FIELDS, SPEC_URL
from services.upload.validation.types import ValidationPolicy
from shared.names import is_valid_name, parse_version

_NOT_DYNAMIC: Final = frozenset({"metadata-version", "name", "version"})  # CMD-5


def check_name(value: str) -> str:
    """CMD-5, NAM-3: ASCII letters, digits, ``._-``; starting and ending alphanumeric (not stripped)."""
    if not value.strip():
        raise InvalidMetadataError("Missing Name: add a 'Name:' header with the project name.")
    if not is_valid_name(value):
        raise invalid(
            "Name",
            value,
            "a project name may contain only ASCII letters, digits, '.', '_' and '-', "
            "and must start and end with a letter or digit",
            "rename the project",
        )
    return value


def check_version(value: str, *, policy: ValidationPolicy) -> str:
    """CMD-5, VER-1, VER-3, VER-4: a PEP 440 version, stored normalised; local labels per policy."""
    if not value.strip():
        raise InvalidMetadataError("Missing Version: add a 'Version:' header with a PEP 440 version.")
    parsed = parse_version(value)
    if parsed is None:
        raise invalid(
            "Version",
            value,
            "not a valid PEP 440 version",
            "use a version such as 1.0, 1.0rc1 or 1.0.post1",
        )
    if parsed.local is not None and not policy.allow_local_versions:
        raise invalid(
            "Version",
            value,
            f"local versions ('+{parsed.local}') are not allowed on this index",
            f"upload it as {parsed.public!r}",
        )
    return str(parsed)


def check_dynamic(values: list[str]) -> list[str]:
    """CMD-5: Dynamic lists real field names, never Name, Version or Metadata-Version."""
    result = []
    for value in values:
        name = value.strip().lower()
        if name in _NOT_DYNAMIC:
            raise invalid("Dynamic", value, f"{value.strip()} can never be dynamic", "remove it from Dynamic")
        if name not in BY_HEADER:
            raise invalid("Dynamic", value, "not a core metadata field name", f"list field names from {SPEC_URL}")
        result.append(FIELDS[BY_HEADER[name]].header)
    return result
