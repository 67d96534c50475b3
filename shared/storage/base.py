"""The :class:`BlobStorage` Protocol every blob adapter implements.

Blobs are immutable byte strings under relative POSIX keys such as
``ab/cd/ef0123…/foo-1.0-py3-none-any.whl`` (see :mod:`shared.storage.keys`).
Adapters never accept a key that could escape their root: absolute keys,
``.``/``..`` segments, backslashes, NUL bytes and empty segments are refused
with :class:`ValueError`.

Ranges follow HTTP ``Range`` semantics: ``end`` is inclusive, an ``end`` past
the last byte is clamped, a ``start`` at or past the size yields nothing.
Iterators never yield empty chunks; every chunk but the last is exactly
``chunk_size`` bytes.

``put_file(..., move=True)`` hands over a file the caller no longer needs (a
spooled upload): an adapter may move it into place instead of copying it.
Afterwards the file is either gone (moved) or untouched, never half-consumed, and
the caller deletes it with ``missing_ok=True``. When a blob is already stored
under the key, the file is left untouched and the blob's bytes stay the same
(keys are content-addressed). Local storage renames the file when it is on the
root's filesystem, copies it otherwise, and never replaces an existing blob;
memory and S3 storage copy it exactly as with ``move=False``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

DEFAULT_CHUNK_SIZE = 256 * 1024


class BlobNotFoundError(Exception):
    """No blob is stored under ``key``."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no blob stored under {key!r}")
        self.key = key


@dataclass(frozen=True, slots=True)
class BlobInfo:
    size: int


@runtime_checkable
class BlobStorage(Protocol):
    async def put_file(
        self, key: str, path: Path, *, content_type: str | None = None, move: bool = False
    ) -> None:
        """Store the file at ``path`` under ``key``, atomically and idempotently; with ``move``,
        the file may be moved into place (see the module docstring), else it is left as it is."""

    async def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        """Store ``data`` under ``key``, atomically and idempotently."""

    async def stat(self, key: str) -> BlobInfo | None:
        """Return the blob's size, or ``None`` when nothing is stored under ``key``."""

    async def read_bytes(self, key: str) -> bytes:
        """Return the whole blob; raise :class:`BlobNotFoundError` when missing."""

    def iter_range(
        self,
        key: str,
        *,
        start: int = 0,
        end: int | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> AsyncIterator[bytes]:
        """Stream bytes ``start..end`` (inclusive); raise :class:`BlobNotFoundError`
        on the first iteration, before anything is yielded, when missing."""

    async def delete(self, key: str) -> None:
        """Remove the blob; a missing key is not an error."""

    async def aclose(self) -> None:
        """Release clients and connections."""


def validate_key(key: str) -> str:
    """Return ``key`` unchanged, or raise :class:`ValueError` if it is unsafe."""
    if not key or key.startswith("/") or "\\" in key or "\x00" in key:
        raise ValueError(f"invalid blob key {key!r}")
    if any(segment in {"", ".", ".."} for segment in key.split("/")):
        raise ValueError(f"invalid blob key {key!r}")
    return key


def validate_range(*, start: int, end: int | None, chunk_size: int) -> None:
    """Refuse ranges no HTTP ``Range`` header could express."""
    if start < 0:
        raise ValueError(f"range start must be >= 0, got {start}")
    if end is not None and end < start:
        raise ValueError(f"range end {end} is before start {start}")
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be > 0, got {chunk_size}")


def range_length(*, size: int, start: int, end: int | None) -> int:
    """How many bytes of a ``size``-byte blob the range covers (0 if none)."""
    last = size - 1 if end is None else min(end, size - 1)
    return max(0, last - start + 1)
