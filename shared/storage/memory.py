"""A dict-backed :class:`~shared.storage.base.BlobStorage` for tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from shared.storage.base import (
    DEFAULT_CHUNK_SIZE,
    BlobInfo,
    BlobNotFoundError,
    validate_key,
    validate_range,
)


class MemoryBlobStorage:
    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}

    async def put_file(
        self, key: str, path: Path, *, content_type: str | None = None, move: bool = False
    ) -> None:
        """``move`` changes nothing: the bytes are copied and the file is left for the caller."""
        validate_key(key)
        data = await asyncio.to_thread(path.read_bytes)
        self._blobs[key] = data

    async def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        self._blobs[validate_key(key)] = bytes(data)

    async def stat(self, key: str) -> BlobInfo | None:
        data = self._blobs.get(validate_key(key))
        return None if data is None else BlobInfo(size=len(data))

    async def read_bytes(self, key: str) -> bytes:
        return self._get(key)

    async def iter_range(
        self,
        key: str,
        *,
        start: int = 0,
        end: int | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> AsyncIterator[bytes]:
        validate_range(start=start, end=end, chunk_size=chunk_size)
        data = self._get(key)
        stop = len(data) if end is None else min(end + 1, len(data))
        for offset in range(start, stop, chunk_size):
            yield data[offset : min(offset + chunk_size, stop)]

    async def delete(self, key: str) -> None:
        self._blobs.pop(validate_key(key), None)

    async def aclose(self) -> None:
        return None

    def _get(self, key: str) -> bytes:
        try:
            return self._blobs[validate_key(key)]
        except KeyError:
            raise BlobNotFoundError(key) from None
