"""Provides-Extra (STANDARDS §15 CMD-9; PEP 685)."""

from __future__ import annotations

import re
from typing import Final

from packaging.utils import InvalidName, canonicalize_name

from services.upload.validation.metadata.messages import invalid
from services.upload.validation.metadata.spec import ACCEPTED_METADATA_VERSIONS

_EXTRA_RE: Final = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*\Z")  # CMD-9, PEP 685


def check_extras(values: list[str], *, metadata_version: str) -> list[str]:
    """CMD-9: extra names; from 2.3 they must already be normalised (PEP 685). Stored normalised."""
    normalized_required = ACCEPTED_METADATA_VERSIONS.index(metadata_version) >= ACCEPTED_METADATA_VERSIONS.index("2.3")
    result: list[str] = []
    for value in (v.strip() for v in values):
        try:
            extra = str(canonicalize_name(value, validate=True))
        except InvalidName as exc:
            raise invalid(
                "Provides-Extra",
                value,
                "not a valid extra name",
                "use letters, digits, '-', '_' and '.'",
            ) from exc
        if normalized_required and not _EXTRA_RE.match(value):
            raise invalid(
                "Provides-Extra",
                value,
                f"Metadata-Version {metadata_version} requires normalized extra names (PEP 685)",
                f"write it as {extra!r}",
            )
        if extra not in result:
            result.append(extra)
    return result
