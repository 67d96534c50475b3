"""Source distribution inspection (STANDARDS §14: SD-2..5; UPL-7 gets its metadata here).

The gzip layer is decompressed here, in bounded chunks counted by the same
:class:`~services.upload.validation.budget.UnpackBudget` caps as wheels, and the tar stream is
read with ``tarfile`` in streaming mode (``r|``): nothing is extracted, nothing is seeked, and
only ``PKG-INFO`` is kept in memory (capped at ``max_metadata_bytes``).

SD-2: sparse members, devices, FIFOs, absolute paths, ``..``/``.`` components, backslashes,
duplicate names and links that leave the sdist's directory are refused; bytes after the tar
end-of-archive marker must be zero padding. SD-3: one top-level directory named like the
filename stem, holding ``PKG-INFO``. SD-4: PKG-INFO passes the CMD rules and matches the
filename (``pyproject.toml`` is only warned about). SD-5: License-File paths exist.
"""

from __future__ import annotations

import posixpath
import re
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, BinaryIO, cast

from packaging.version import Version

from services.upload.errors import InvalidArchiveError
from services.upload.validation.budget import CHUNK_SIZE, UnpackBudget, check_member_count
from services.upload.validation.filenames import check_metadata_matches_filename
from services.upload.validation.metadata import parse_core_metadata
from services.upload.validation.types import CoreMetadata, InspectedDistribution, MiB, ParsedFilename, ValidationPolicy

_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_EXTENDED_HEADER_TYPES = (
    tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE, tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK,
)  # fmt: skip
_MAX_EXTENDED_HEADER_BYTES = 1 * MiB
_DRIVE_RE = re.compile(r"[A-Za-z]:")
_REBUILD = "build the sdist with `python -m build --sdist`"


@dataclass(kw_only=True)
class _Contents:
    root: str  # the filename stem, e.g. "foo_bar-1.0"
    pkg_info: bytes | None = None
    names: set[str] = field(default_factory=set)
    files: set[str] = field(default_factory=set)  # regular files, for hard links
    non_directories: set[str] = field(default_factory=set)  # for License-File (SD-5)


def inspect_sdist(path: Path, parsed: ParsedFilename, *, policy: ValidationPolicy) -> InspectedDistribution:
    """Validate a ``.tar.gz`` sdist on disk (SD-2..5) without extracting it."""
    root = parsed.filename[: -len(".tar.gz")]
    budget = UnpackBudget(parsed.filename, compressed_size=path.stat().st_size, policy=policy)
    with path.open("rb") as fh:
        _check_gzip_magic(fh, filename=parsed.filename)
        contents = _scan(_GunzipStream(fh, budget=budget), root=root, budget=budget)
    metadata = parse_core_metadata(_require_pkg_info(contents, filename=parsed.filename), source="sdist", policy=policy)
    check_metadata_matches_filename(metadata, parsed, member=f"{root}/PKG-INFO")
    _check_license_files(metadata, contents=contents, filename=parsed.filename)
    return InspectedDistribution(
        filename=parsed, metadata=metadata, metadata_bytes=None, warnings=_warnings(contents, filename=parsed.filename)
    )


def _check_gzip_magic(fh: BinaryIO, *, filename: str) -> None:
    """SD-2: a ``.tar.gz`` must really be gzip."""
    if fh.read(2) != _GZIP_MAGIC:
        raise InvalidArchiveError(f"{filename!r} is not gzip-compressed; {_REBUILD}")
    fh.seek(0)


class _GunzipStream:
    """The decompressed bytes of a gzip file, as a minimal read-only file object.

    Every decompressed byte is counted by the budget; zlib never produces more than the
    requested amount at once. Concatenated gzip members and trailing zero padding are allowed
    (like ``gzip``); other trailing bytes are not. The gzip CRC-32 and length are checked by zlib.
    """

    def __init__(self, fh: BinaryIO, *, budget: UnpackBudget) -> None:
        self._fh = fh
        self._budget = budget
        self._inflater = zlib.decompressobj(_GZIP_WBITS)
        self._pending = b""  # compressed bytes read ahead of the current gzip member
        self._output = bytearray()
        self._done = False

    def read(self, size: int = -1) -> bytes:
        size = CHUNK_SIZE if size < 0 else size
        while len(self._output) < size and not self._done:
            self._inflate_more(size - len(self._output))
        data = bytes(self._output[:size])
        del self._output[:size]
        return data

    def _inflate_more(self, wanted: int) -> None:
        data = self._inflater.unconsumed_tail or self._pending or self._fh.read(CHUNK_SIZE)
        self._pending = b""
        try:
            output = self._inflater.decompress(data, wanted)
        except zlib.error as exc:
            raise InvalidArchiveError(
                f"{self._budget.filename!r} is not a valid gzip stream ({exc}); {_REBUILD}"
            ) from None
        self._budget.consume(len(output))
        self._output += output
        if self._inflater.eof:
            self._next_gzip_member(self._inflater.unused_data)
        elif not data and not output:
            raise InvalidArchiveError(f"{self._budget.filename!r} is truncated (the gzip stream ends early)")

    def _next_gzip_member(self, rest: bytes) -> None:
        while len(rest) < len(_GZIP_MAGIC) and (more := self._fh.read(CHUNK_SIZE)):
            rest += more
        if not rest:
            self._done = True
        elif rest.startswith(_GZIP_MAGIC):
            self._inflater = zlib.decompressobj(_GZIP_WBITS)
            self._pending = rest
        else:
            self._check_zero_padding(rest)
            self._done = True

    def _check_zero_padding(self, rest: bytes) -> None:
        while rest:
            if rest.strip(b"\0"):
                raise InvalidArchiveError(f"{self._budget.filename!r} has data after the end of the gzip stream")
            rest = self._fh.read(CHUNK_SIZE)


class _BoundedTarInfo(tarfile.TarInfo):
    """Refuses oversized pax / GNU long-name headers: ``tarfile`` reads those whole into memory."""

    def _proc_member(self, tarfile: tarfile.TarFile) -> tarfile.TarInfo:  # type: ignore[override]
        if self.type in _EXTENDED_HEADER_TYPES and self.size > _MAX_EXTENDED_HEADER_BYTES:
            raise InvalidArchiveError(
                f"the sdist has a {self.size}-byte extended tar header; at most {_MAX_EXTENDED_HEADER_BYTES} "
                f"bytes are accepted. {_REBUILD}"
            )
        return super()._proc_member(tarfile)  # type: ignore[misc]


def _scan(stream: _GunzipStream, *, root: str, budget: UnpackBudget) -> _Contents:
    """Walk every tar member once, in order (SD-2, SD-3)."""
    contents = _Contents(root=root)
    filename = budget.filename
    try:
        with tarfile.open(fileobj=cast(IO[bytes], stream), mode="r|", tarinfo=_BoundedTarInfo) as archive:
            for count, member in enumerate(archive, start=1):
                check_member_count(filename, count=count, policy=budget.policy)
                _check_member(member, contents=contents, filename=filename)
                _remember(member, contents=contents)
                if member.name == f"{root}/PKG-INFO":
                    contents.pkg_info = _read_pkg_info(archive, member, policy=budget.policy, filename=filename)
            _check_end_of_archive(archive, filename=filename)
    except (tarfile.TarError, EOFError, ValueError) as exc:
        raise InvalidArchiveError(f"{filename!r} is not a valid tar archive ({exc}); {_REBUILD}") from None
    except RecursionError:
        raise InvalidArchiveError(f"{filename!r} has a chain of extended tar headers; {_REBUILD}") from None
    return contents


def _check_member(member: tarfile.TarInfo, *, contents: _Contents, filename: str) -> None:
    _check_member_path(member.name, filename=filename)
    if member.name in contents.names:
        raise InvalidArchiveError(f"{filename!r} contains {member.name!r} more than once; {_REBUILD}")
    _check_member_type(member, filename=filename)
    _check_top_level(member, root=contents.root, filename=filename)
    if member.issym() or member.islnk():
        _check_link(member, contents=contents, filename=filename)


def _check_member_path(name: str, *, filename: str) -> None:
    """SD-2: relative, printable, ``/``-separated, no ``..``/``.``/empty components."""
    if not name or not name.isprintable() or "\\" in name:
        raise InvalidArchiveError(
            f"{filename!r} has a member name {name!r} that is empty, non-printable, not UTF-8 or contains a backslash"
        )
    if name.startswith("/") or _DRIVE_RE.match(name):
        raise InvalidArchiveError(f"{filename!r} has a member with an absolute path, {name!r}; {_REBUILD}")
    if any(part in ("", ".", "..") for part in name.split("/")):
        raise InvalidArchiveError(
            f"{filename!r} has a member path {name!r} with '..', '.' or empty components; {_REBUILD}"
        )


def _check_member_type(member: tarfile.TarInfo, *, filename: str) -> None:
    """SD-2: regular files, directories and links only; never sparse files, devices or FIFOs."""
    if member.issparse():
        raise InvalidArchiveError(f"{filename!r} has a sparse member, {member.name!r}; {_REBUILD}")
    if member.ischr() or member.isblk() or member.isfifo():
        raise InvalidArchiveError(f"{filename!r} has a device or FIFO member, {member.name!r}; {_REBUILD}")
    if not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
        raise InvalidArchiveError(f"{filename!r} has a member of unsupported type, {member.name!r}; {_REBUILD}")


def _check_top_level(member: tarfile.TarInfo, *, root: str, filename: str) -> None:
    """SD-3: everything lives in one directory named like the filename stem."""
    if member.name.split("/")[0] != root:
        raise InvalidArchiveError(
            f"{filename!r} must contain a single top-level directory named {root}/, but has {member.name!r}; "
            f"{_REBUILD}"
        )
    if member.name == root and not member.isdir():
        raise InvalidArchiveError(f"{filename!r}: the top-level entry {root!r} must be a directory; {_REBUILD}")


def _check_link(member: tarfile.TarInfo, *, contents: _Contents, filename: str) -> None:
    """SD-2: symbolic links resolve (lexically) inside the sdist's directory; hard links name an earlier file."""
    base = posixpath.dirname(member.name) if member.issym() else ""
    target = posixpath.normpath(posixpath.join(base, member.linkname))
    if member.linkname.startswith("/") or target.split("/")[0] != contents.root:
        raise InvalidArchiveError(
            f"{filename!r} has a link {member.name!r} -> {member.linkname!r} that points outside {contents.root}/"
        )
    if member.islnk() and target not in contents.files:
        raise InvalidArchiveError(
            f"{filename!r} has a hard link {member.name!r} to {member.linkname!r}, which is not an earlier file"
        )


def _remember(member: tarfile.TarInfo, *, contents: _Contents) -> None:
    contents.names.add(member.name)
    if member.isreg():
        contents.files.add(member.name)
    if not member.isdir():
        contents.non_directories.add(member.name)


def _read_pkg_info(
    archive: tarfile.TarFile, member: tarfile.TarInfo, *, policy: ValidationPolicy, filename: str
) -> bytes:
    """SD-3: PKG-INFO is a regular file no larger than ``max_metadata_bytes``."""
    if not member.isreg():
        raise InvalidArchiveError(f"{filename!r}: {member.name} must be a regular file; {_REBUILD}")
    if member.size > policy.max_metadata_bytes:
        raise InvalidArchiveError(
            f"{member.name} in {filename!r} is too large: {member.size} bytes, and the index reads at most "
            f"{policy.max_metadata_bytes}; shorten the long description (README) embedded in PKG-INFO"
        )
    extracted = archive.extractfile(member)
    return extracted.read() if extracted is not None else b""


def _check_end_of_archive(archive: tarfile.TarFile, *, filename: str) -> None:
    """Only zero blocks may follow the end-of-archive marker; anything else is hidden or corrupt data."""
    while chunk := archive.fileobj.read(CHUNK_SIZE):  # type: ignore[union-attr]
        if chunk.strip(b"\0"):
            raise InvalidArchiveError(
                f"{filename!r} has data after the end of the tar archive (or a corrupt member header); {_REBUILD}"
            )


def _require_pkg_info(contents: _Contents, *, filename: str) -> bytes:
    if contents.pkg_info is None:
        raise InvalidArchiveError(f"{filename!r} has no {contents.root}/PKG-INFO; {_REBUILD}")
    return contents.pkg_info


def _check_license_files(metadata: CoreMetadata, *, contents: _Contents, filename: str) -> None:
    """SD-5: with Metadata-Version >= 2.4 every License-File exists relative to the sdist root."""
    if Version(metadata.metadata_version) < Version("2.4"):
        return
    for license_file in metadata.license_files:
        if f"{contents.root}/{license_file}" not in contents.non_directories:
            raise InvalidArchiveError(
                f"PKG-INFO declares License-File {license_file!r} but {filename!r} has no "
                f"{contents.root}/{license_file}; include the file in the sdist"
            )


def _warnings(contents: _Contents, *, filename: str) -> list[str]:
    """SD-4: the sdist spec requires pyproject.toml, but PyPI does not enforce it."""
    if f"{contents.root}/pyproject.toml" in contents.non_directories:
        return []
    return [f"{filename} has no pyproject.toml at its root; the source distribution format requires one"]
