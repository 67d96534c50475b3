"""Distribution validation for the upload service (STANDARDS §13 WHL, §14 SD; UPL-4, UPL-7).

Pure and synchronous: the upload service runs :func:`inspect_distribution` through
``asyncio.to_thread``. Filename rules live in :mod:`.filenames`, the ZIP reader in
:mod:`.ziparchive`, the decompression caps in :mod:`.budget`, format checks in :mod:`.wheel`
and :mod:`.sdist`, core metadata in :mod:`.metadata`.
"""

from __future__ import annotations

from pathlib import Path

from services.upload.validation.filenames import check_filetype, parse_distribution_filename
from services.upload.validation.sdist import inspect_sdist
from services.upload.validation.types import InspectedDistribution, ValidationPolicy
from services.upload.validation.wheel import inspect_wheel

__all__ = ["check_filetype", "inspect_distribution", "parse_distribution_filename"]


def inspect_distribution(path: Path, filename: str, *, policy: ValidationPolicy) -> InspectedDistribution:
    """Parse ``filename`` (WHL-1..6, SD-1) and inspect the archive at ``path`` (WHL-7..13, SD-2..5)."""
    parsed = parse_distribution_filename(filename, policy=policy)
    if parsed.packagetype == "bdist_wheel":
        return inspect_wheel(path, parsed, policy=policy)
    return inspect_sdist(path, parsed, policy=policy)
