"""Build wheels and sdists in a temporary directory for tests (WHL-1..13, SD-1..5).

* :func:`build_wheel` / :func:`build_sdist` write a *valid* distribution (correct RECORD, WHEEL,
  METADATA/PKG-INFO, filename computed per WHL-2/WHL-3/SD-1) and return its path; keyword
  hooks bend one thing at a time for negative tests.
* :func:`write_zip` with :class:`ZipEntry` crafts ZIP files byte by byte (WHL-7 cases: prepended,
  trailing or hidden data, mismatched headers, zip64, data descriptors, ...).
* :func:`write_tar_gz` with :class:`TarEntry` crafts sdists (SD-2 cases: sparse, devices, links, ...).
* :func:`zeros_deflate` makes a deflate stream of N zero bytes in O(N / 1000) time and memory, so
  a 2 GiB bomb costs ~2 MB and milliseconds.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from packaging.tags import parse_tag
from packaging.utils import canonicalize_name
from packaging.version import Version

Members = dict[str, bytes]

DEFAULT_NAME = "demo"
DEFAULT_VERSION = "1.0"
DEFAULT_TAG = "py3-none-any"
DEFAULT_METADATA_VERSION = "2.1"

_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_END = struct.Struct("<4s4H2LH")
_ZIP64_END = struct.Struct("<4sQ2H2L4Q")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_U32 = 0xFFFFFFFF
_MADE_BY_UNIX = (3 << 8) | 20
REGULAR_FILE_MODE = 0o100644


# --- names -------------------------------------------------------------------------------------


def escaped_name(name: str) -> str:
    """WHL-2 / SD-1: the normalised name with ``-`` replaced by ``_``."""
    return canonicalize_name(name).replace("-", "_")


def wheel_filename(
    name: str = DEFAULT_NAME, version: str = DEFAULT_VERSION, *, build_tag: str | None = None, tag: str = DEFAULT_TAG
) -> str:
    parts = [escaped_name(name), str(Version(version)), *([build_tag] if build_tag else []), tag]
    return "-".join(parts) + ".whl"


def sdist_filename(name: str = DEFAULT_NAME, version: str = DEFAULT_VERSION) -> str:
    return f"{escaped_name(name)}-{Version(version)}.tar.gz"


def metadata_text(
    *, name: str, version: str, metadata_version: str = DEFAULT_METADATA_VERSION, extra: str = ""
) -> str:
    """A minimal core metadata file that passes the CMD rules."""
    return (
        f"Metadata-Version: {metadata_version}\nName: {name}\nVersion: {version}\n"
        f"Summary: A distribution built by the test suite\n{extra}"
    )


# --- wheels ------------------------------------------------------------------------------------


def wheel_text(*, tag: str = DEFAULT_TAG, build_tag: str | None = None, purelib: str = "true") -> str:
    """WHL-10: a WHEEL file with one Tag line per expanded tag."""
    lines = ["Wheel-Version: 1.0", "Generator: wheelhouse-tests 1.0", f"Root-Is-Purelib: {purelib}"]
    lines += [f"Tag: {t}" for t in sorted(map(str, parse_tag(tag)))]
    lines += [f"Build: {build_tag}"] if build_tag else []
    return "\n".join(lines) + "\n"


def record_bytes(members: Members, *, record_path: str, algorithm: str = "sha256") -> bytes:
    """WHL-11: a RECORD listing every member with its hash and size, and itself with neither."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for path, data in members.items():
        digest = base64.urlsafe_b64encode(hashlib.new(algorithm, data).digest()).rstrip(b"=").decode()
        writer.writerow([path, f"{algorithm}={digest}", str(len(data))])
    writer.writerow([record_path, "", ""])
    return out.getvalue().encode()


def wheel_members(
    *,
    name: str = DEFAULT_NAME,
    version: str = DEFAULT_VERSION,
    build_tag: str | None = None,
    tag: str = DEFAULT_TAG,
    metadata_version: str = DEFAULT_METADATA_VERSION,
    metadata_extra: str = "",
    files: Members | None = None,
    entry_points: str | None = None,
    license_files: Members | None = None,
    wheel: str | None = None,
    metadata: str | None = None,
) -> Members:
    """The members of a valid wheel, RECORD last, in archive order."""
    dist_info = f"{escaped_name(name)}-{Version(version)}.dist-info"
    members = dict(files if files is not None else {f"{escaped_name(name)}/__init__.py": b"VALUE = 1\n"})
    license_headers = "".join(f"License-File: {path}\n" for path in license_files or {})
    metadata = metadata or metadata_text(
        name=name, version=version, metadata_version=metadata_version, extra=license_headers + metadata_extra
    )
    members[f"{dist_info}/METADATA"] = metadata.encode()
    members[f"{dist_info}/WHEEL"] = (wheel or wheel_text(tag=tag, build_tag=build_tag)).encode()
    if entry_points is not None:
        members[f"{dist_info}/entry_points.txt"] = entry_points.encode()
    for path, data in (license_files or {}).items():
        members[f"{dist_info}/licenses/{path}"] = data
    members[f"{dist_info}/RECORD"] = record_bytes(members, record_path=f"{dist_info}/RECORD")
    return members


def build_wheel(
    tmp_path: Path,
    *,
    name: str = DEFAULT_NAME,
    version: str = DEFAULT_VERSION,
    build_tag: str | None = None,
    tag: str = DEFAULT_TAG,
    metadata_version: str = DEFAULT_METADATA_VERSION,
    metadata_extra: str = "",
    files: Members | None = None,
    entry_points: str | None = None,
    license_files: Members | None = None,
    wheel: str | None = None,
    metadata: str | None = None,
    filename: str | None = None,
    edit: Callable[[Members], None] | None = None,
    streamed: bool = False,
) -> Path:
    """Write a valid wheel with :mod:`zipfile` and return its path.

    ``metadata`` and ``wheel`` replace the METADATA and WHEEL texts (RECORD stays correct);
    ``filename`` overrides the computed name (renamed-wheel tests); ``edit`` changes the members
    after RECORD was computed (tampering tests); ``streamed`` writes through an unseekable stream,
    so zipfile uses data descriptors.
    """
    members = wheel_members(
        name=name, version=version, build_tag=build_tag, tag=tag, metadata_version=metadata_version,
        metadata_extra=metadata_extra, files=files, entry_points=entry_points, license_files=license_files,
        wheel=wheel, metadata=metadata,
    )  # fmt: skip
    if edit is not None:
        edit(members)
    path = tmp_path / (filename or wheel_filename(name, version, build_tag=build_tag, tag=tag))
    write_with_zipfile(path, members, streamed=streamed)
    return path


class _Unseekable:
    """A write-only stream without tell/seek: zipfile then writes data descriptors."""

    def __init__(self, target: io.BufferedWriter) -> None:
        self._target = target

    def write(self, data: bytes) -> int:
        return self._target.write(data)

    def flush(self) -> None:
        self._target.flush()


def write_with_zipfile(path: Path, members: Members, *, streamed: bool = False) -> Path:
    with path.open("wb") as raw:
        target = _Unseekable(raw) if streamed else raw
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:  # type: ignore[arg-type]
            for name, data in members.items():
                archive.writestr(_member_info(name), data)
    return path


def _member_info(name: str) -> zipfile.ZipInfo:
    """A fixed timestamp: building the same wheel twice gives the same bytes (an identical re-upload)."""
    info = zipfile.ZipInfo(name, date_time=(2020, 2, 2, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o40775 << 16) | 0x10 if name.endswith("/") else 0o600 << 16
    return info


# --- raw ZIP writer ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ZipEntry:
    """One member for :func:`zip_bytes`; every override defaults to the honest value."""

    name: str | bytes
    data: bytes = b""
    method: int = 8
    flags: int = 0
    mode: int = REGULAR_FILE_MODE
    made_by: int = _MADE_BY_UNIX
    crc: int | None = None
    file_size: int | None = None
    compressed: bytes | None = None  # raw member data as stored
    local_name: bytes | None = None  # a different name in the local header
    central_offset_delta: int = 0  # shift the offset the central directory records
    central_offset: int | None = None  # or replace it outright
    zip64: bool = False  # zip64 extra fields in both headers
    descriptor: bool = False  # flag bit 3 and a signed data descriptor
    utf8_flag: bool | None = None  # flag bit 11; None sets it for non-ASCII names


def entries_from(members: Members, **overrides: object) -> list[ZipEntry]:
    """:class:`ZipEntry` objects for ``members``, each with ``overrides`` applied."""
    return [ZipEntry(name=name, data=data, **overrides) for name, data in members.items()]  # type: ignore[arg-type]


def deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def zeros_deflate(size: int, *, chunk: int = 1024 * 1024) -> bytes:
    """A raw deflate stream of ``size`` zero bytes: one full-flushed chunk repeated, then a final block."""
    block = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    repeated = block.compress(bytes(chunk)) + block.flush(zlib.Z_FULL_FLUSH)
    count, rest = divmod(size, chunk)
    tail = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return repeated * count + tail.compress(bytes(rest)) + tail.flush()


@dataclass(kw_only=True)
class _Record:
    entry: ZipEntry
    raw_name: bytes
    payload: bytes
    crc: int
    size: int
    flags: int
    offset: int = 0


def _prepare(entry: ZipEntry) -> _Record:
    raw_name = entry.name if isinstance(entry.name, bytes) else entry.name.encode()
    payload = entry.compressed if entry.compressed is not None else entry.data
    if entry.compressed is None and entry.method == 8:
        payload = deflate(entry.data)
    utf8 = entry.utf8_flag if entry.utf8_flag is not None else not raw_name.isascii()
    flags = entry.flags | (0x800 if utf8 else 0) | (0x8 if entry.descriptor else 0)
    crc = entry.crc if entry.crc is not None else zlib.crc32(entry.data)
    size = entry.file_size if entry.file_size is not None else len(entry.data)
    return _Record(entry=entry, raw_name=raw_name, payload=payload, crc=crc, size=size, flags=flags)


def _local_record(record: _Record) -> bytes:
    entry, csize = record.entry, len(record.payload)
    crc, sizes, extra = record.crc, (csize, record.size), b""
    if entry.zip64:
        sizes, extra = (_U32, _U32), struct.pack("<HHQQ", 1, 16, record.size, csize)
    if entry.descriptor:
        crc, sizes = 0, (0, 0)
    name = entry.local_name if entry.local_name is not None else record.raw_name
    header = _LOCAL.pack(b"PK\x03\x04", 20, record.flags, entry.method, 0, 0x21, crc, *sizes, len(name), len(extra))
    out = header + name + extra + record.payload
    if entry.descriptor:
        layout = "<4sLQQ" if entry.zip64 else "<4sLLL"
        out += struct.pack(layout, b"PK\x07\x08", record.crc, csize, record.size)
    return out


def _central_record(record: _Record) -> bytes:
    entry, csize = record.entry, len(record.payload)
    offset = entry.central_offset if entry.central_offset is not None else record.offset
    offset += entry.central_offset_delta
    sizes, extra = (csize, record.size, offset), b""
    if entry.zip64:
        sizes, extra = (_U32, _U32, _U32), struct.pack("<HHQQQ", 1, 24, record.size, csize, offset)
    header = _CENTRAL.pack(
        b"PK\x01\x02", entry.made_by, 20, record.flags, entry.method, 0, 0x21, record.crc, sizes[0], sizes[1],
        len(record.raw_name), len(extra), 0, 0, 0, entry.mode << 16, sizes[2],
    )  # fmt: skip
    return header + record.raw_name + extra


def zip_bytes(
    entries: Iterable[ZipEntry],
    *,
    prefix: bytes = b"",
    between: bytes = b"",
    comment: bytes = b"",
    trailing: bytes = b"",
    zip64_end: bool = False,
) -> bytes:
    """A ZIP file, honest unless told otherwise. ``between`` goes after the first record."""
    out = bytearray(prefix)
    records = [_prepare(entry) for entry in entries]
    for index, record in enumerate(records):
        if index == 1:
            out += between
        record.offset = len(out)
        out += _local_record(record)
    cd_offset = len(out)
    out += b"".join(_central_record(record) for record in records)
    cd_size = len(out) - cd_offset
    out += _end_records(count=len(records), cd_offset=cd_offset, cd_size=cd_size, zip64=zip64_end, comment=comment)
    return bytes(out + trailing)


def _end_records(*, count: int, cd_offset: int, cd_size: int, zip64: bool, comment: bytes) -> bytes:
    if not zip64:
        return _END.pack(b"PK\x05\x06", 0, 0, count, count, cd_size, cd_offset, len(comment)) + comment
    zip64_offset = cd_offset + cd_size
    out = _ZIP64_END.pack(b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, cd_size, cd_offset)
    out += _ZIP64_LOCATOR.pack(b"PK\x06\x07", 0, zip64_offset, 1)
    return out + _END.pack(b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, _U32, _U32, len(comment)) + comment


def write_zip(path: Path, entries: Iterable[ZipEntry], **options: object) -> Path:
    path.write_bytes(zip_bytes(entries, **options))  # type: ignore[arg-type]
    return path


# --- sdists ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TarEntry:
    name: str
    data: bytes = b""
    type: bytes = tarfile.REGTYPE
    linkname: str = ""
    size: int | None = None  # declared size when it differs from len(data)


def sdist_entries(
    *,
    name: str = DEFAULT_NAME,
    version: str = DEFAULT_VERSION,
    metadata_version: str = DEFAULT_METADATA_VERSION,
    metadata_extra: str = "",
    files: Members | None = None,
    root: str | None = None,
    pkg_info: str | None = None,
) -> list[TarEntry]:
    """The members of a valid sdist: the root directory, PKG-INFO, pyproject.toml and ``files``."""
    top = root or sdist_filename(name, version)[: -len(".tar.gz")]
    pkg_info = pkg_info or metadata_text(
        name=name, version=version, metadata_version=metadata_version, extra=metadata_extra
    )
    defaults = {"pyproject.toml": b'[project]\nname = "demo"\n', "src/demo/__init__.py": b"VALUE = 1\n"}
    entries = [TarEntry(name=top, type=tarfile.DIRTYPE), TarEntry(name=f"{top}/PKG-INFO", data=pkg_info.encode())]
    entries += [TarEntry(name=f"{top}/{path}", data=data) for path, data in (files or defaults).items()]
    return entries


def _tar_info(entry: TarEntry) -> tarfile.TarInfo:
    info = tarfile.TarInfo(entry.name)
    info.type, info.linkname, info.mtime = entry.type, entry.linkname, 0
    info.size = entry.size if entry.size is not None else len(entry.data)
    info.mode = 0o755 if entry.type == tarfile.DIRTYPE else 0o644
    return info


def tar_bytes(entries: Iterable[TarEntry], *, tar_format: int = tarfile.PAX_FORMAT) -> bytes:
    """A complete tar stream written by :mod:`tarfile` (end-of-archive marker and padding included)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tar_format) as archive:
        for entry in entries:
            info = _tar_info(entry)
            archive.addfile(info, io.BytesIO(entry.data) if info.isreg() else None)
    return out.getvalue()


def tar_members_bytes(entries: Iterable[TarEntry]) -> bytes:
    """Headers and data of ``entries`` without the end-of-archive marker (to append more by hand)."""
    out = bytearray()
    for entry in entries:
        out += _tar_info(entry).tobuf(format=tarfile.PAX_FORMAT) + entry.data + bytes(-len(entry.data) % 512)
    return bytes(out)


def gzip_wrap(deflated: bytes, *, crc: int, size: int) -> bytes:
    """A gzip member around an already-deflated stream (for bombs built with :func:`zeros_deflate`)."""
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + deflated + struct.pack("<LL", crc, size & _U32)


def write_gz(path: Path, data: bytes, *, trailing: bytes = b"") -> Path:
    """Gzip ``data`` (a tar stream) into ``path``, then append ``trailing`` raw bytes."""
    path.write_bytes(gzip_wrap(deflate(data), crc=zlib.crc32(data), size=len(data)) + trailing)
    return path


def write_tar_gz(path: Path, entries: Iterable[TarEntry], *, trailing: bytes = b"", **options: int) -> Path:
    return write_gz(path, tar_bytes(entries, **options), trailing=trailing)


def build_sdist(
    tmp_path: Path,
    *,
    name: str = DEFAULT_NAME,
    version: str = DEFAULT_VERSION,
    metadata_version: str = DEFAULT_METADATA_VERSION,
    metadata_extra: str = "",
    files: Members | None = None,
    root: str | None = None,
    pkg_info: str | None = None,
    filename: str | None = None,
    extra_entries: Iterable[TarEntry] = (),
    edit: Callable[[list[TarEntry]], None] | None = None,
) -> Path:
    """Write a valid ``.tar.gz`` sdist and return its path; ``edit`` changes the entry list first."""
    entries = sdist_entries(
        name=name, version=version, metadata_version=metadata_version, metadata_extra=metadata_extra,
        files=files, root=root, pkg_info=pkg_info,
    )  # fmt: skip
    entries += list(extra_entries)
    if edit is not None:
        edit(entries)
    return write_tar_gz(tmp_path / (filename or sdist_filename(name, version)), entries)


def write_sdist_bomb(
    tmp_path: Path, *, size: int, name: str = DEFAULT_NAME, version: str = DEFAULT_VERSION
) -> Path:
    """An sdist whose member ``zeros.bin`` declares and holds ``size`` zero bytes (gzip CRC left wrong)."""
    entries = sdist_entries(name=name, version=version)
    bomb = TarEntry(name=f"{entries[0].name}/zeros.bin", size=size)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    head = compressor.compress(tar_members_bytes([*entries, bomb])) + compressor.flush(zlib.Z_FULL_FLUSH)
    path = tmp_path / sdist_filename(name, version)
    path.write_bytes(gzip_wrap(head + zeros_deflate(size), crc=0, size=0))
    return path


def with_replaced(entries: list[ZipEntry], name: str, **changes: object) -> list[ZipEntry]:
    """``entries`` with the one called ``name`` changed."""
    return [replace(e, **changes) if e.name == name else e for e in entries]  # type: ignore[arg-type]
