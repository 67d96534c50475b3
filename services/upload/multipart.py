"""Streaming ``multipart/form-data`` for the legacy upload (DESIGN.md "Writes", step 1).

The file part goes to a temporary file while it is hashed (sha256, blake2b-256,
md5; UPL-5) and counted against the size limit (UPL-12); it is never held in
memory whole.  Text fields are collected as lists so that repeated fields can be
told apart from single ones (UPL-6).

The file part is handed over in batches of about 1 MiB.  While one batch is written
and hashed, the next is read and parsed: the write and the three digests of a batch
run side by side in a small per-process thread pool (hashlib releases the GIL on
large buffers), and the next batch starts only when all four are done, which keeps
every digest in order and at most two batches (~2 MiB) of the file in memory.  The
event loop never blocks on the disk or on hashing.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_multipart.multipart import MultipartParser, parse_options_header

from services.upload.errors import FileTooLargeError, InvalidFormError

FLUSH_BYTES = 1024 * 1024
SPOOL_WORKERS = 4  # one batch's write, sha256, blake2b and md5 run side by side
MAX_FIELDS_BYTES = 16 * 1024 * 1024  # all text fields together (descriptions can be large)


@dataclass
class SpooledFile:
    """The uploaded distribution, on disk, with the digests computed while it arrived."""

    filename: str
    path: Path
    size: int = 0
    sha256: str = ""
    blake2b_256: str = ""
    md5: str = ""


@dataclass
class UploadedForm:
    fields: dict[str, list[str]] = field(default_factory=dict)
    file: SpooledFile | None = None


@functools.cache
def _spool_pool() -> concurrent.futures.ThreadPoolExecutor:
    """The process's pool for spool writes and digests (created on first use, shared by all uploads)."""
    return concurrent.futures.ThreadPoolExecutor(max_workers=SPOOL_WORKERS, thread_name_prefix="upload-spool")


class _Spool:
    """The file part on its way to disk: one batch written and hashed while the next is parsed."""

    def __init__(self, handle: BinaryIO, path: Path) -> None:
        self.handle = handle
        self.path = path
        self.sha256 = hashlib.sha256()
        self.blake2b = hashlib.blake2b(digest_size=32)
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0  # bytes handed over so far, in flight included (UPL-12 counts them)
        self.in_flight: list[concurrent.futures.Future] = []

    async def submit(self, data: bytearray) -> None:
        """Wait for the batch in flight, then start writing and hashing ``data`` (not modified afterwards)."""
        await self.wait()
        jobs: tuple[Callable[[bytearray], object], ...] = (
            self.handle.write, self.sha256.update, self.blake2b.update, self.md5.update,
        )
        self.in_flight = [_spool_pool().submit(job, data) for job in jobs]
        self.size += len(data)

    async def wait(self) -> None:
        """Let the batch in flight finish; raise its first error.  Cancelled, it drops the queued jobs
        and leaves the running ones in ``in_flight`` for :meth:`discard` to wait for."""
        outcomes = await asyncio.gather(*map(asyncio.wrap_future, self.in_flight), return_exceptions=True)
        self.in_flight = []
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def close(self) -> None:
        await self.wait()
        await asyncio.to_thread(self.handle.close)

    async def discard(self) -> None:
        """After any error: once the batch in flight is done, close and delete the file (in a thread)."""
        await asyncio.to_thread(_close_and_remove, self.in_flight, self.handle, self.path)
        self.in_flight = []


def _close_and_remove(in_flight: list[concurrent.futures.Future], handle: BinaryIO, path: Path) -> None:
    concurrent.futures.wait(in_flight)
    with contextlib.suppress(OSError, ValueError):  # a failed write fails the flush again
        handle.close()
    path.unlink(missing_ok=True)


class _PartState:
    def __init__(self) -> None:
        self.header_field = b""
        self.headers: dict[bytes, bytes] = {}
        self.name: str | None = None
        self.filename: str | None = None
        self.text = bytearray()


class FormReader:
    """Feeds request chunks to python-multipart and routes part data to fields or the file."""

    def __init__(self, boundary: bytes, *, max_file_size: int, tmp_dir: Path | None) -> None:
        self.max_file_size = max_file_size
        self.tmp_dir = tmp_dir
        self.form = UploadedForm()
        self.part = _PartState()
        self.pending = bytearray()
        self.fields_bytes = 0
        self.spool: _Spool | None = None
        self.error: Exception | None = None
        self.finished = False
        self.content_parts = 0
        self.content_filename = ""
        self.parser = MultipartParser(boundary, callbacks=self._callbacks(), max_header_count=16)

    def _callbacks(self) -> dict:
        return {
            "on_part_begin": self._on_part_begin,
            "on_header_field": lambda d, s, e: self._on_header_field(d[s:e]),
            "on_header_value": lambda d, s, e: self._on_header_value(d[s:e]),
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": lambda d, s, e: self._on_part_data(d[s:e]),
            "on_part_end": self._on_part_end,
            "on_end": self._on_end,
        }

    def _on_part_begin(self) -> None:
        self.part = _PartState()

    def _on_header_field(self, data: bytes) -> None:
        self.part.header_field += data

    def _on_header_value(self, data: bytes) -> None:
        key = self.part.header_field.lower()
        self.part.headers[key] = self.part.headers.get(key, b"") + data

    def _on_header_end(self) -> None:
        self.part.header_field = b""

    def _on_headers_finished(self) -> None:
        disposition, options = parse_options_header(self.part.headers.get(b"content-disposition", b""))
        if disposition != b"form-data" or b"name" not in options:
            self._fail(InvalidFormError("Malformed multipart body: every part needs a form-data name."))
            return
        self.part.name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            self.part.filename = options[b"filename"].decode("utf-8", "replace")
        if self.part.name == "content":
            self.content_parts += 1
            if self.content_parts > 1 or self.part.filename is None:
                self._fail(InvalidFormError("The form needs exactly one 'content' file part."))
            else:
                self.content_filename = self.part.filename

    def _on_part_data(self, data: bytes) -> None:
        if self.error is not None:
            return
        if self.part.filename is not None and self.part.name == "content":
            self.pending += data
            if self.spool is not None and self.spool.size + len(self.pending) > self.max_file_size:
                self._fail(_too_large(self.max_file_size))
            return
        self.fields_bytes += len(data)
        if self.fields_bytes > MAX_FIELDS_BYTES:
            self._fail(InvalidFormError("The form's text fields are too large (over 16 MiB together)."))
            return
        self.part.text += data

    def _on_part_end(self) -> None:
        name = self.part.name
        if name is None or self.error is not None:
            return
        if self.part.filename is not None and name == "content":
            return  # finished in flush()
        if self.part.filename is not None:
            return  # gpg_signature and other file parts are ignored (HTML-10)
        try:
            value = self.part.text.decode("utf-8")
        except UnicodeDecodeError:
            self._fail(InvalidFormError(f"Form field {name!r} is not valid UTF-8."))
            return
        self.form.fields.setdefault(name, []).append(value)

    def _on_end(self) -> None:
        self.finished = True

    def _fail(self, error: Exception) -> None:
        if self.error is None:
            self.error = error


def _too_large(limit: int) -> FileTooLargeError:
    return FileTooLargeError(
        f"File too large. Limit for this project is {limit // (1024 * 1024)} MiB; "
        "ask the index administrators to raise it."
    )


def _boundary(content_type: str | None) -> bytes:
    if not content_type:
        raise InvalidFormError("Missing Content-Type: the upload must be multipart/form-data.")
    mime, options = parse_options_header(content_type)
    if mime != b"multipart/form-data" or not options.get(b"boundary"):
        raise InvalidFormError("The upload must be multipart/form-data with a boundary.")
    return options[b"boundary"]


async def read_upload_form(
    chunks: AsyncIterator[bytes], *, content_type: str | None, max_file_size: int, tmp_dir: Path | None
) -> UploadedForm:
    """Read the whole request body; return fields and the spooled file (caller deletes it).

    On any error, cancellation included, the spooled file is closed and deleted before this returns.
    """
    reader = FormReader(_boundary(content_type), max_file_size=max_file_size, tmp_dir=tmp_dir)
    try:
        await _read_body(reader, chunks)
        await _finish_file(reader)
    except BaseException:
        if reader.spool is not None:
            await reader.spool.discard()
        raise
    return reader.form


async def _read_body(reader: FormReader, chunks: AsyncIterator[bytes]) -> None:
    async for chunk in chunks:
        _feed(reader, chunk)
        if reader.content_parts == 1 and reader.spool is None and reader.error is None:
            await _open_spool(reader)
        if len(reader.pending) >= FLUSH_BYTES:
            await _flush(reader)
        _raise_error(reader)
    await _flush(reader)
    _raise_error(reader)
    if not reader.finished:
        raise InvalidFormError("Malformed multipart body: it ended before the closing boundary.")


def _raise_error(reader: FormReader) -> None:
    if reader.error is not None:
        raise reader.error


def _feed(reader: FormReader, chunk: bytes) -> None:
    try:
        reader.parser.write(chunk)
    except Exception as exc:  # python-multipart raises its own parse errors
        reader._fail(InvalidFormError(f"Malformed multipart body: {exc}"))


async def _open_spool(reader: FormReader) -> None:
    opening = asyncio.get_running_loop().run_in_executor(None, _create_spool_file, reader.tmp_dir)
    try:
        handle, path = await asyncio.shield(opening)
    except asyncio.CancelledError:  # the file is still created: delete it once it is
        opening.add_done_callback(_remove_orphan)
        raise
    reader.spool = _Spool(handle, path)
    reader.form.file = SpooledFile(filename=reader.content_filename, path=path)


def _create_spool_file(tmp_dir: Path | None) -> tuple[BinaryIO, Path]:
    if tmp_dir is not None:
        tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="wheelhouse-upload-", dir=tmp_dir)
    return os.fdopen(fd, "wb"), Path(name)


def _remove_orphan(opening: asyncio.Future) -> None:
    if opening.cancelled() or opening.exception() is not None:
        return
    handle, path = opening.result()
    handle.close()
    path.unlink(missing_ok=True)


async def _flush(reader: FormReader) -> None:
    if not reader.pending or reader.spool is None:
        return
    data, reader.pending = reader.pending, bytearray()
    if reader.spool.size + len(data) > reader.max_file_size:
        reader._fail(_too_large(reader.max_file_size))
        return
    await reader.spool.submit(data)


async def _finish_file(reader: FormReader) -> None:
    spool, spooled = reader.spool, reader.form.file
    if spool is None or spooled is None:
        return
    await spool.close()
    spooled.size = spool.size
    spooled.sha256 = spool.sha256.hexdigest()
    spooled.blake2b_256 = spool.blake2b.hexdigest()
    spooled.md5 = spool.md5.hexdigest()
