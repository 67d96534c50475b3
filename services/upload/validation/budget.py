"""Decompression limits shared by the wheel and sdist inspectors (WHL-7, SD-2).

Declared sizes are never trusted: the inspectors count the bytes they actually decompress
and call :class:`UnpackBudget` for every chunk, so a bomb is stopped after at most one chunk
past the cap, whatever its headers claim. The rules follow PyPI: an archive may unpack to at
most ``max_unpacked_bytes``, and once past ``bomb_ratio_threshold_bytes`` to no more than
``max_compression_ratio`` times its compressed size; the same ratio rule applies per member.
"""

from __future__ import annotations

from services.upload.errors import InvalidArchiveError
from services.upload.validation.types import MiB, ValidationPolicy

CHUNK_SIZE = 64 * 1024


class UnpackBudget:
    """Counts decompressed bytes for one archive and raises once a WHL-7/SD-2 cap is passed."""

    def __init__(self, filename: str, *, compressed_size: int, policy: ValidationPolicy) -> None:
        self.filename = filename
        self.policy = policy
        self.unpacked = 0
        self._compressed_size = max(compressed_size, 1)

    def consume(self, count: int) -> None:
        """Add ``count`` freshly decompressed bytes to the archive total."""
        self.unpacked += count
        if self.unpacked > self.policy.max_unpacked_bytes:
            raise InvalidArchiveError(
                f"{self.filename!r} unpacks to more than {_size(self.policy.max_unpacked_bytes)}, the most this "
                "index accepts; move large data out of the distribution (e.g. download it at run time)"
            )
        self.check_ratio(repr(self.filename), unpacked=self.unpacked, compressed=self._compressed_size)

    def check_member(self, name: str, *, unpacked: int, compressed: int) -> None:
        """The per-member ratio rule: one member may not be a bomb hidden in a large archive."""
        self.check_ratio(f"member {name!r} of {self.filename!r}", unpacked=unpacked, compressed=compressed)

    def check_ratio(self, what: str, *, unpacked: int, compressed: int) -> None:
        """Refuse ``what`` when, past the threshold, it unpacks beyond the allowed compression ratio."""
        policy = self.policy
        if unpacked <= policy.bomb_ratio_threshold_bytes:
            return
        if unpacked > policy.max_compression_ratio * max(compressed, 1):
            raise InvalidArchiveError(
                f"{what} looks like a decompression bomb: more than {unpacked} bytes unpacked "
                f"from {compressed} compressed bytes; past {_size(policy.bomb_ratio_threshold_bytes)} the index "
                f"refuses compression ratios above {policy.max_compression_ratio}:1. Do not ship highly "
                "compressible filler data"
            )


def check_member_count(filename: str, *, count: int, policy: ValidationPolicy) -> None:
    """Bound the work per archive (WHL-7, SD-2)."""
    if count > policy.max_members:
        raise InvalidArchiveError(
            f"{filename!r} has more than {policy.max_members} members, the most this index accepts; "
            "package fewer files"
        )


def _size(count: int) -> str:
    return f"{count // MiB} MiB" if count >= MiB and count % MiB == 0 else f"{count} bytes"
