"""Blobs as files under a root directory: the embedded default.

Writes go to a temporary file in the target's directory, are fsynced and then
renamed over the target with :func:`os.replace`, so a reader sees either no
blob or the whole blob. ``put_file(..., move=True)`` skips the copy: the caller's
file is fsynced and renamed into place when it is on the root's filesystem (it
is copied as usual otherwise), and a blob already under the key is kept. Every
filesystem call runs in a worker thread (:func:`asyncio.to_thread`); copies
stream in 1 MiB pieces.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import io
import os
import shutil
import stat
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import BinaryIO

from shared.storage.base import (
    DEFAULT_CHUNK_SIZE,
    BlobInfo,
    BlobNotFoundError,
    range_length,
    validate_key,
    validate_range,
)

COPY_BUFFER_SIZE = 1024 * 1024
FILE_MODE = 0o644
_MISSING = (FileNotFoundError, NotADirectoryError, IsADirectoryError)


class LocalBlobStorage:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).absolute()

    async def put_file(
        self, key: str, path: Path, *, content_type: str | None = None, move: bool = False
    ) -> None:
        target = self._path(key)
        await asyncio.to_thread(_move_into if move else _copy_into, Path(path), target)

    async def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        target = self._path(key)
        await asyncio.to_thread(_write_atomically, target, lambda out: out.write(data))

    async def stat(self, key: str) -> BlobInfo | None:
        return await asyncio.to_thread(_stat_regular, self._path(key))

    async def read_bytes(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except _MISSING:
            raise BlobNotFoundError(key) from None

    async def iter_range(
        self,
        key: str,
        *,
        start: int = 0,
        end: int | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> AsyncIterator[bytes]:
        validate_range(start=start, end=end, chunk_size=chunk_size)
        path = self._path(key)
        try:
            file, size = await asyncio.to_thread(_open_at, path, start)
        except _MISSING:
            raise BlobNotFoundError(key) from None
        # Closing a read-only descriptor does not block; doing it inline keeps
        # the generator safe to finalise after the loop has stopped.
        with file:
            remaining = range_length(size=size, start=start, end=end)
            while remaining > 0:
                chunk = await asyncio.to_thread(file.read, min(chunk_size, remaining))
                if not chunk:
                    return
                remaining -= len(chunk)
                yield chunk

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    async def aclose(self) -> None:
        return None

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).split("/"))


def _stat_regular(path: Path) -> BlobInfo | None:
    try:
        result = path.stat()
    except _MISSING:
        return None
    return BlobInfo(size=result.st_size) if stat.S_ISREG(result.st_mode) else None


def _open_at(path: Path, start: int) -> tuple[io.FileIO, int]:
    file = path.open("rb", buffering=0)
    size = os.fstat(file.fileno()).st_size
    file.seek(start)
    return file, size


def _copy_into(source: Path, target: Path) -> None:
    with source.open("rb") as src:
        _write_atomically(target, lambda out: shutil.copyfileobj(src, out, COPY_BUFFER_SIZE))


def _move_into(source: Path, target: Path) -> None:
    """Rename ``source`` over ``target`` once it is on disk; copy it across filesystems.

    A blob already stored at ``target`` is kept and ``source`` is then left untouched.
    """
    if _stat_regular(target) is not None:
        return
    _sync_file(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(source, target)
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
        _copy_into(source, target)
        return
    _fsync_directory(target.parent)


def _sync_file(path: Path) -> None:
    """Give ``path`` the blobs' mode and flush its data to disk (before it is renamed into place)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fchmod(fd, FILE_MODE)
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomically(target: Path, write: Callable[[BinaryIO], object]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fchmod(out.fileno(), FILE_MODE)
            os.fsync(out.fileno())
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    _fsync_directory(target.parent)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
