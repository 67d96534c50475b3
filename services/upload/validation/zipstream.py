"""Reading wheel members (WHL-7): bounded, counted, verified as the bytes arrive.

Every member is decompressed in :data:`~services.upload.validation.budget.CHUNK_SIZE` pieces
and each piece is counted by :class:`~services.upload.validation.budget.UnpackBudget` before
the caller sees it. The declared size is a ceiling checked per chunk (a member that inflates
past it is refused at once), and the CRC-32 and the exact end of the deflate stream are
checked at the end, so nothing the headers claim is trusted in advance.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import BinaryIO

from services.upload.errors import InvalidArchiveError
from services.upload.validation.budget import CHUNK_SIZE, UnpackBudget
from services.upload.validation.ziparchive import ZipMember, bad_zip


def iter_member(fh: BinaryIO, member: ZipMember, *, budget: UnpackBudget) -> Iterator[bytes]:
    """Stream a member's bytes, counting each chunk and checking declared size and CRC-32 as it goes."""
    produced, crc = 0, 0
    for chunk in _decompressed(fh, member, filename=budget.filename):
        produced += len(chunk)
        if produced > member.file_size:
            detail = f"{member.name!r} unpacks to more than its declared {member.file_size} bytes"
            raise bad_zip(budget.filename, detail)
        budget.consume(len(chunk))
        budget.check_member(member.name, unpacked=produced, compressed=member.compressed_size)
        crc = zlib.crc32(chunk, crc)
        yield chunk
    if produced != member.file_size:
        raise bad_zip(budget.filename, f"{member.name!r} unpacks to {produced} bytes but declares {member.file_size}")
    if crc != member.crc:
        raise bad_zip(budget.filename, f"{member.name!r} fails its CRC-32 check (the archive is corrupt)")


def read_member(fh: BinaryIO, member: ZipMember, *, limit: int, budget: UnpackBudget, hint: str = "") -> bytes:
    """Read a small member whole; more than ``limit`` bytes is refused before anything is read."""
    if member.file_size > limit:
        raise InvalidArchiveError(
            f"{member.name} in {budget.filename!r} is too large: {member.file_size} bytes, and the index reads "
            f"at most {limit} bytes of it{'; ' + hint if hint else ''}"
        )
    return b"".join(iter_member(fh, member, budget=budget))


def _decompressed(fh: BinaryIO, member: ZipMember, *, filename: str) -> Iterator[bytes]:
    raw = _raw_chunks(fh, member, filename=filename)
    return raw if member.method == 0 else _inflate(raw, name=member.name, filename=filename)


def _raw_chunks(fh: BinaryIO, member: ZipMember, *, filename: str) -> Iterator[bytes]:
    position, remaining = member.data_offset, member.compressed_size
    while remaining:
        fh.seek(position)
        chunk = fh.read(min(CHUNK_SIZE, remaining))
        if not chunk:
            raise bad_zip(filename, f"the data of {member.name!r} is truncated")
        position += len(chunk)
        remaining -= len(chunk)
        yield chunk


def _inflate(raw_chunks: Iterator[bytes], *, name: str, filename: str) -> Iterator[bytes]:
    """Raw deflate, at most CHUNK_SIZE bytes of output at a time, ending exactly with the member data."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        for raw in raw_chunks:
            if inflater.eof:
                raise bad_zip(filename, f"{name!r} has data after the end of its deflate stream")
            yield from _inflate_chunk(inflater, raw)
            if inflater.unused_data:
                raise bad_zip(filename, f"{name!r} has data after the end of its deflate stream")
        while not inflater.eof and (pending := inflater.decompress(b"", CHUNK_SIZE)):
            yield pending
    except zlib.error as exc:
        raise bad_zip(filename, f"{name!r} has corrupt deflate data ({exc})") from None
    if not inflater.eof:
        raise bad_zip(filename, f"the deflate stream of {name!r} is truncated")


def _inflate_chunk(inflater: zlib._Decompress, raw: bytes) -> Iterator[bytes]:
    data = raw
    while data and not inflater.eof:
        output = inflater.decompress(data, CHUNK_SIZE)
        data = inflater.unconsumed_tail
        if output:
            yield output
