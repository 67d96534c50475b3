"""Requires-Python and the dependency fields (STANDARDS §15 CMD-6)."""

from __future__ import annotations

import re
from typing import Final

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from services.upload.validation.metadata.messages import invalid
from services.upload.validation.types import ValidationPolicy
from shared.names import is_valid_name, parse_version

_LEGACY_PROVIDES_RE: Final = re.compile(r"(?P<name>[^\s(;]+)\s*\(\s*(?P<version>[^()\s]+)\s*\)\s*(;.*)?\Z")


def check_requires_python(value: str | None) -> str | None:
    """CMD-6: a PEP 440 specifier set, no markers."""
    if value is None:
        return None
    try:
        SpecifierSet(value)
    except InvalidSpecifier as exc:
        raise invalid(
            "Requires-Python",
            value,
            "not a valid version specifier set",
            "use e.g. '>=3.9' or '>=3.9,<4' (no '.*' with '>')",
        ) from exc
    return value


def check_requirements(header: str, values: list[str], *, policy: ValidationPolicy) -> list[str]:
    """CMD-6: PEP 508 dependency specifiers; direct references refused on a public index."""
    result = []
    for value in (v.strip() for v in values):
        requirement = _requirement(header, value)
        if requirement is not None and requirement.url and not policy.allow_direct_references:
            raise invalid(
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
        raise invalid(
            header,
            value,
            f"not a valid dependency specifier ({reason})",
            "use PEP 508 syntax, e.g. 'name>=1.0'",
        ) from exc
