"""Project-name and version helpers (NAM-1..3, VER-1..3, VER-5)."""

from __future__ import annotations

import re

from packaging.utils import canonicalize_name, canonicalize_version
from packaging.version import InvalidVersion, Version

# NAM-3: `\Z`, not `$`, so that a trailing newline is refused.
_NAME_RE = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])\Z", re.IGNORECASE | re.ASCII)


def normalize_name(name: str) -> str:
    """NAM-1: lower-case and collapse runs of ``-_.`` into one ``-``."""
    return str(canonicalize_name(name))


def is_valid_name(name: str) -> bool:
    """NAM-3."""
    return bool(_NAME_RE.match(name))


def parse_version(version: str) -> Version | None:
    """VER-1: a PEP 440 version, or None."""
    try:
        return Version(version)
    except InvalidVersion:
        return None


def version_key(version: str) -> str:
    """VER-2: the key that makes PEP 440-equal versions one release."""
    return canonicalize_version(version)


def sort_versions(versions: list[str]) -> list[str]:
    """VER-5: PEP 440 order, oldest first; unparseable strings sort first."""
    return sorted(versions, key=lambda v: (parse_version(v) is not None, parse_version(v) or Version("0")))
