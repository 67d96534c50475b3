"""A strict ZIP reader for wheels (WHL-7).

The standard library's ``zipfile`` is deliberately lenient (it skips prepended data, ignores
trailing bytes and trusts the central directory), and installers disagree in exactly those
corners, so wheels are parsed here and refused unless the archive is unambiguous:

* the local records, the central directory, the optional zip64 end records and the end record
  tile the file exactly: nothing before, between or after them, one end record, no comment
  that carries ZIP signatures;
* every central directory entry agrees with its local header (name, method, flags, CRC and
  sizes, or its data descriptor) and no two entries overlap or share a name;
* only stored (0) and deflate (8), no encryption, UTF-8 printable relative member names
  without ``..``, ``.``, empty components or backslashes, no symlinks, devices or FIFOs.

Member data is read by :mod:`.zipstream`.
"""

from __future__ import annotations

import re
import stat
import struct
from dataclasses import dataclass, replace
from typing import BinaryIO

from services.upload.errors import InvalidArchiveError
from services.upload.validation.budget import check_member_count
from services.upload.validation.types import ValidationPolicy

LOCAL_SIG = b"PK\x03\x04"
CENTRAL_SIG = b"PK\x01\x02"
END_SIG = b"PK\x05\x06"
ZIP64_END_SIG = b"PK\x06\x06"
ZIP64_LOCATOR_SIG = b"PK\x06\x07"
DESCRIPTOR_SIG = b"PK\x07\x08"
_SIGNATURES = (LOCAL_SIG, CENTRAL_SIG, END_SIG, ZIP64_END_SIG, ZIP64_LOCATOR_SIG, DESCRIPTOR_SIG)

_END = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_END = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_LOCAL = struct.Struct("<4s5H3L2H")
_U16, _U32 = 0xFFFF, 0xFFFFFFFF
_ZIP64_EXTRA_ID = 0x0001
_FLAG_ENCRYPTED = 0x0001 | 0x0040 | 0x2000  # traditional, strong, encrypted central directory
_FLAG_DESCRIPTOR = 0x0008
_FLAG_UTF8 = 0x0800
_UNIX_HOSTS = (3, 19)  # "made by" Unix or OS X: the high 16 bits of external_attr are st_mode
_ALLOWED_FILE_TYPES = (0, stat.S_IFREG, stat.S_IFDIR)
_DRIVE_RE = re.compile(r"[A-Za-z]:")


@dataclass(frozen=True, kw_only=True)
class ZipMember:
    """One member, as the central directory and its local header (which agree) describe it."""

    name: str
    raw_name: bytes
    flags: int
    method: int
    crc: int
    compressed_size: int
    file_size: int
    header_offset: int
    data_offset: int = -1  # set once the local header has been checked

    @property
    def is_dir(self) -> bool:
        return self.name.endswith("/")


@dataclass(frozen=True, kw_only=True)
class _Directory:
    offset: int  # where the central directory starts
    size: int
    count: int
    end: int  # where the zip64 end record, or else the end record, starts


def read_members(fh: BinaryIO, *, filename: str, policy: ValidationPolicy) -> list[ZipMember]:
    """WHL-7: parse the whole structure and return the members in archive order."""
    size = fh.seek(0, 2)
    directory = _locate_directory(fh, size=size, filename=filename)
    check_member_count(filename, count=directory.count, policy=policy)
    members = _read_central_directory(fh, directory, filename=filename)
    return _match_local_records(fh, members, directory=directory, filename=filename)


def bad_zip(filename: str, detail: str) -> InvalidArchiveError:
    return InvalidArchiveError(
        f"{filename!r} is not a sound ZIP archive: {detail}. Rebuild the wheel with a standard tool (python -m build)"
    )


def _locate_directory(fh: BinaryIO, *, size: int, filename: str) -> _Directory:
    end_offset, record = _find_end_record(fh, size=size, filename=filename)
    zip64 = _read_zip64_end(fh, end_offset=end_offset, filename=filename)
    _, disk, cd_disk, on_disk, count, cd_size, cd_offset, _ = record
    directory_end = end_offset
    if zip64 is not None:
        directory_end, zip64_record = zip64
        _check_end_records_agree(record, zip64_record, filename=filename)
        disk, cd_disk, on_disk, count, cd_size, cd_offset = zip64_record[4:]
    if disk != 0 or cd_disk != 0 or on_disk != count:
        raise bad_zip(filename, "multi-disk (split) archives are not supported")
    _check_gap(filename, cd_offset + cd_size, directory_end, where="between the central directory and the end records")
    return _Directory(offset=cd_offset, size=cd_size, count=count, end=directory_end)


def _find_end_record(fh: BinaryIO, *, size: int, filename: str) -> tuple[int, tuple[int, ...]]:
    """The one end-of-central-directory record, which must end the file (comment included)."""
    tail_start = max(0, size - _END.size - _U16)
    fh.seek(tail_start)
    tail = fh.read()
    candidates = _end_record_candidates(tail)
    if not candidates:
        raise bad_zip(filename, "no end-of-central-directory record (not a ZIP file, or truncated)")
    complete = [position for position, record_end in candidates if record_end == len(tail)]
    if len(complete) > 1:
        raise bad_zip(filename, "more than one end-of-central-directory record (an archive hidden in the comment?)")
    if not complete:
        record_end = candidates[0][1]
        if record_end < len(tail):
            raise bad_zip(filename, f"{len(tail) - record_end} bytes of data after the end-of-central-directory record")
        raise bad_zip(filename, "the archive comment runs past the end of the file (truncated)")
    position = complete[0]
    _check_comment(tail[position + _END.size :], filename=filename)
    return tail_start + position, _END.unpack_from(tail, position)


def _end_record_candidates(tail: bytes) -> list[tuple[int, int]]:
    """(position, end including the comment) of every end-record signature, last first."""
    candidates: list[tuple[int, int]] = []
    if len(tail) < _END.size:
        return candidates
    position = tail.rfind(END_SIG, 0, len(tail) - _END.size + len(END_SIG))
    while position >= 0:
        comment_length = _END.unpack_from(tail, position)[-1]
        candidates.append((position, position + _END.size + comment_length))
        position = tail.rfind(END_SIG, 0, position)
    return candidates


def _check_comment(comment: bytes, *, filename: str) -> None:
    if any(signature in comment for signature in _SIGNATURES):
        raise bad_zip(filename, "the archive comment contains ZIP record signatures (hidden data)")


def _read_zip64_end(fh: BinaryIO, *, end_offset: int, filename: str) -> tuple[int, tuple[int, ...]] | None:
    """The zip64 end record and its offset, when a zip64 locator precedes the end record."""
    if end_offset < _ZIP64_LOCATOR.size:
        return None
    fh.seek(end_offset - _ZIP64_LOCATOR.size)
    signature, disk, record_offset, disks = _ZIP64_LOCATOR.unpack(fh.read(_ZIP64_LOCATOR.size))
    if signature != ZIP64_LOCATOR_SIG:
        return None
    if disk != 0 or disks != 1:
        raise bad_zip(filename, "multi-disk (split) archives are not supported")
    fh.seek(record_offset)
    raw = fh.read(_ZIP64_END.size)
    if len(raw) < _ZIP64_END.size or not raw.startswith(ZIP64_END_SIG):
        raise bad_zip(filename, "the zip64 end locator does not point at a zip64 end-of-central-directory record")
    record = _ZIP64_END.unpack(raw)
    record_end = record_offset + 12 + record[1]
    _check_gap(filename, record_end, end_offset - _ZIP64_LOCATOR.size, where="around the zip64 end records")
    return record_offset, record


def _check_end_records_agree(record: tuple[int, ...], zip64: tuple[int, ...], *, filename: str) -> None:
    """Each end-record field is either its "see zip64" sentinel or the zip64 value."""
    pairs = ((record[3], zip64[6], _U16), (record[4], zip64[7], _U16))
    pairs += ((record[5], zip64[8], _U32), (record[6], zip64[9], _U32))
    if any(small not in (sentinel, large) for small, large, sentinel in pairs):
        raise bad_zip(filename, "the end-of-central-directory record and the zip64 end record disagree")


def _check_gap(filename: str, actual_end: int, expected_start: int, *, where: str) -> None:
    """Adjacent records must touch: a gap hides data, an overlap means two readings of one byte."""
    if actual_end < expected_start:
        raise bad_zip(filename, f"{expected_start - actual_end} bytes of unexpected data {where}")
    if actual_end > expected_start:
        raise bad_zip(filename, f"overlapping records {where}")


def _read_central_directory(fh: BinaryIO, directory: _Directory, *, filename: str) -> list[ZipMember]:
    fh.seek(directory.offset)
    members: list[ZipMember] = []
    names: set[str] = set()
    consumed = 0
    for _ in range(directory.count):
        member, length = _read_central_entry(fh, filename=filename)
        if member.name in names:
            raise bad_zip(filename, f"duplicate member name {member.name!r}")
        names.add(member.name)
        members.append(member)
        consumed += length
    if consumed != directory.size:
        raise bad_zip(filename, "the central directory's size does not match its entries")
    return members


def _read_central_entry(fh: BinaryIO, *, filename: str) -> tuple[ZipMember, int]:
    raw = fh.read(_CENTRAL.size)
    if len(raw) < _CENTRAL.size or not raw.startswith(CENTRAL_SIG):
        raise bad_zip(filename, "the central directory is truncated or corrupt")
    (_, made_by, _, flags, method, _, _, crc, compressed, size, name_len, extra_len, comment_len,
     disk, _, external_attr, offset) = _CENTRAL.unpack(raw)  # fmt: skip
    raw_name, extra, comment = fh.read(name_len), fh.read(extra_len), fh.read(comment_len)
    if len(raw_name) + len(extra) + len(comment) != name_len + extra_len + comment_len:
        raise bad_zip(filename, "the central directory is truncated")
    name = _decode_name(raw_name, flags=flags, filename=filename)
    size, compressed, offset = _zip64_values(extra, (size, compressed, offset), filename=filename)
    if disk != 0:
        raise bad_zip(filename, f"{name!r} is on another disk; split archives are not supported")
    member = ZipMember(
        name=name, raw_name=raw_name, flags=flags, method=method, crc=crc,
        compressed_size=compressed, file_size=size, header_offset=offset,
    )  # fmt: skip
    _check_entry(member, made_by=made_by, external_attr=external_attr, filename=filename)
    return member, _CENTRAL.size + name_len + extra_len + comment_len


def _decode_name(raw: bytes, *, flags: int, filename: str) -> str:
    """Names must be UTF-8; non-ASCII names need the UTF-8 flag, or readers decode them as cp437."""
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_zip(filename, f"member name {raw!r} is not valid UTF-8") from None
    if not name.isascii() and not flags & _FLAG_UTF8:
        raise bad_zip(filename, f"member name {name!r} is not ASCII but its UTF-8 flag (bit 11) is not set")
    return name


def _check_entry(member: ZipMember, *, made_by: int, external_attr: int, filename: str) -> None:
    _check_path(member.name, filename=filename)
    _check_encoding(member, filename=filename)
    _check_file_type(member, made_by=made_by, external_attr=external_attr, filename=filename)


def _check_path(name: str, *, filename: str) -> None:
    """Relative, printable, ``/``-separated paths with no ``..``, ``.`` or empty components."""
    if not name or not name.isprintable():
        raise bad_zip(filename, f"member name {name!r} is empty or contains non-printable characters")
    if "\\" in name:
        raise bad_zip(filename, f"member name {name!r} contains a backslash; use '/' as the path separator")
    if name.startswith("/") or _DRIVE_RE.match(name):
        raise bad_zip(filename, f"member name {name!r} is an absolute path")
    parts = (name[:-1] if name.endswith("/") else name).split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise bad_zip(filename, f"member name {name!r} contains '..', '.' or empty path components")


def _check_encoding(member: ZipMember, *, filename: str) -> None:
    if member.flags & _FLAG_ENCRYPTED:
        raise bad_zip(filename, f"{member.name!r} is encrypted")
    if member.method not in (0, 8):
        raise bad_zip(
            filename, f"{member.name!r} uses compression method {member.method}; only stored (0) and deflate (8)"
        )
    if member.method == 0 and member.compressed_size != member.file_size:
        raise bad_zip(filename, f"stored member {member.name!r} has different compressed and uncompressed sizes")
    if member.is_dir and member.file_size:
        raise bad_zip(filename, f"directory entry {member.name!r} has data")


def _check_file_type(member: ZipMember, *, made_by: int, external_attr: int, filename: str) -> None:
    """No symlinks, devices, FIFOs or sockets (Unix mode bits in ``external_attr``)."""
    if made_by >> 8 not in _UNIX_HOSTS:
        return
    file_type = stat.S_IFMT(external_attr >> 16)
    if file_type == stat.S_IFLNK:
        raise bad_zip(filename, f"{member.name!r} is a symbolic link; wheels may only contain regular files")
    if file_type not in _ALLOWED_FILE_TYPES:
        raise bad_zip(filename, f"{member.name!r} is a device, FIFO or socket; wheels may only contain regular files")


def _extra_fields(extra: bytes, *, filename: str) -> dict[int, bytes]:
    fields: dict[int, bytes] = {}
    position = 0
    while position < len(extra):
        if position + 4 > len(extra):
            raise bad_zip(filename, "a member has a malformed extra field")
        header_id, length = struct.unpack_from("<HH", extra, position)
        body = extra[position + 4 : position + 4 + length]
        if len(body) != length or header_id in fields:
            raise bad_zip(filename, "a member has a malformed or repeated extra field")
        fields[header_id] = body
        position += 4 + length
    return fields


def _zip64_values(extra: bytes, values: tuple[int, ...], *, filename: str) -> tuple[int, ...]:
    """Replace each 0xFFFFFFFF value, in order, with the next 8-byte value of the zip64 extra field."""
    body = _extra_fields(extra, filename=filename).get(_ZIP64_EXTRA_ID, b"")
    resolved, position = [], 0
    for value in values:
        if value == _U32:
            if position + 8 > len(body):
                raise bad_zip(filename, "a member's zip64 extra field is missing or too short")
            value = int.from_bytes(body[position : position + 8], "little")
            position += 8
        resolved.append(value)
    return tuple(resolved)


def _match_local_records(
    fh: BinaryIO, members: list[ZipMember], *, directory: _Directory, filename: str
) -> list[ZipMember]:
    """Walk the local records in offset order: each must start where the previous one ended."""
    checked: list[ZipMember] = []
    expected = 0
    for member in sorted(members, key=lambda m: m.header_offset):
        where = f"before member {member.name!r}" if checked else "before the first member (prepended data)"
        _check_gap(filename, expected, member.header_offset, where=where)
        member, expected = _read_local_record(fh, member, filename=filename)
        checked.append(member)
    _check_gap(filename, expected, directory.offset, where="between the last member and the central directory")
    return checked


def _read_local_record(fh: BinaryIO, member: ZipMember, *, filename: str) -> tuple[ZipMember, int]:
    """Check the local header against the central directory; return the member and its record end."""
    fh.seek(member.header_offset)
    raw = fh.read(_LOCAL.size)
    if len(raw) < _LOCAL.size or not raw.startswith(LOCAL_SIG):
        raise bad_zip(filename, f"the central directory entry for {member.name!r} points at no local header")
    _, _, flags, method, _, _, crc, compressed, size, name_len, extra_len = _LOCAL.unpack(raw)
    raw_name, extra = fh.read(name_len), fh.read(extra_len)
    if raw_name != member.raw_name:
        raise bad_zip(filename, f"local header name {raw_name!r} disagrees with central directory name {member.name!r}")
    if method != member.method or (flags ^ member.flags) & (_FLAG_DESCRIPTOR | _FLAG_ENCRYPTED):
        raise bad_zip(filename, f"the local header of {member.name!r} disagrees with the central directory")
    data_offset = member.header_offset + _LOCAL.size + name_len + extra_len
    data_end = data_offset + member.compressed_size
    is_zip64 = _ZIP64_EXTRA_ID in _extra_fields(extra, filename=filename)
    if flags & _FLAG_DESCRIPTOR:
        data_end += _read_descriptor(fh, member, at=data_end, zip64=is_zip64, filename=filename)
    elif (crc, *_zip64_values(extra, (size, compressed), filename=filename)) != (
        member.crc, member.file_size, member.compressed_size,
    ):  # fmt: skip
        raise bad_zip(filename, f"the local header CRC or sizes of {member.name!r} disagree with the central directory")
    return replace(member, data_offset=data_offset), data_end


def _read_descriptor(fh: BinaryIO, member: ZipMember, *, at: int, zip64: bool, filename: str) -> int:
    """Check a data descriptor (optional signature, CRC, sizes) and return its length."""
    layout = struct.Struct("<LQQ" if zip64 else "<LLL")
    fh.seek(at)
    raw = fh.read(4 + layout.size)
    start = 4 if raw.startswith(DESCRIPTOR_SIG) else 0
    if len(raw) < start + layout.size:
        raise bad_zip(filename, f"the data descriptor of {member.name!r} is truncated")
    if layout.unpack_from(raw, start) != (member.crc, member.compressed_size, member.file_size):
        raise bad_zip(filename, f"the data descriptor of {member.name!r} disagrees with the central directory")
    return start + layout.size
