"""Streaming ``multipart/form-data`` for the legacy upload (DESIGN.md "Writes", step 1).

The file part goes to a temporary file while it is hashed (sha256, blake2b-256,
md5; UPL-5) and counted against the size limit (UPL-12); it is never held in
memory whole.  Text fields are collected as lists so that repeated fields can be
told apart from single ones (UPL-6).  Disk writes and hashing run in a thread
in batches so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_multipart.multipart import MultipartParser, parse_options_header

from services.upload.errors import FileTooLargeError, InvalidFormError

FLUSH_BYTES = 1024 * 1024
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


class _FileSink:
    """Writes and hashes batches of the file part (runs in a worker thread)."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.sha256 = hashlib.sha256()
        self.blake2b = hashlib.blake2b(digest_size=32)
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.sha256.update(data)
        self.blake2b.update(data)
        self.md5.update(data)
        self.size += len(data)


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
        self.sink: _FileSink | None = None
        self.error: Exception | None = None
        self.finished = False
        self.content_parts = 0
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

    def _on_part_data(self, data: bytes) -> None:
        if self.error is not None:
            return
        if self.part.filename is not None and self.part.name == "content":
            self.pending += data
            if self.sink is not None and self.sink.size + len(self.pending) > self.max_file_size:
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
    """Read the whole request body; return fields and the spooled file (caller deletes it)."""
    reader = FormReader(_boundary(content_type), max_file_size=max_file_size, tmp_dir=tmp_dir)
    handle = None
    try:
        async for chunk in chunks:
            _feed(reader, chunk)
            if reader.content_parts == 1 and reader.sink is None and reader.error is None:
                handle = _open_spool(reader, tmp_dir)
            if len(reader.pending) >= FLUSH_BYTES:
                await _flush(reader)
            if reader.error is not None:
                raise reader.error
        await _flush(reader)
        if reader.error is not None:
            raise reader.error
        if not reader.finished:
            raise InvalidFormError("Malformed multipart body: it ended before the closing boundary.")
        return reader.form
    except BaseException:
        if handle is not None:
            handle.close()
            _unlink(reader.form.file.path if reader.form.file else None)
        raise
    finally:
        if handle is not None and not handle.closed:
            await asyncio.to_thread(handle.close)
        _finish_digests(reader)


def _feed(reader: FormReader, chunk: bytes) -> None:
    try:
        reader.parser.write(chunk)
    except Exception as exc:  # python-multipart raises its own parse errors
        reader._fail(InvalidFormError(f"Malformed multipart body: {exc}"))


def _open_spool(reader: FormReader, tmp_dir: Path | None) -> BinaryIO:
    fd, name = tempfile.mkstemp(prefix="wheelhouse-upload-", dir=tmp_dir)
    handle = os.fdopen(fd, "wb")
    reader.sink = _FileSink(handle)
    reader.form.file = SpooledFile(filename=reader.part.filename or "", path=Path(name))
    return handle


async def _flush(reader: FormReader) -> None:
    if not reader.pending or reader.sink is None:
        return
    data = bytes(reader.pending)
    reader.pending.clear()
    if reader.sink.size + len(data) > reader.max_file_size:
        reader._fail(_too_large(reader.max_file_size))
        return
    await asyncio.to_thread(reader.sink.write, data)


def _finish_digests(reader: FormReader) -> None:
    if reader.sink is None or reader.form.file is None:
        return
    spooled = reader.form.file
    spooled.size = reader.sink.size
    spooled.sha256 = reader.sink.sha256.hexdigest()
    spooled.blake2b_256 = reader.sink.blake2b.hexdigest()
    spooled.md5 = reader.sink.md5.hexdigest()


def _unlink(path: Path | None) -> None:
    if path is not None:
        path.unlink(missing_ok=True)
