"""Wheel inspection (STANDARDS §13: WHL-7..13; UPL-7 gets its authoritative metadata here).

Pipeline: sound ZIP structure (WHL-7, :mod:`.ziparchive`; members are read through
:mod:`.zipstream`) → one ``{name}-{version}.dist-info`` spelled as in the filename, holding
METADATA, WHEEL and RECORD (WHL-8) → METADATA valid and matching the filename (WHL-9) → WHEEL
(WHL-10) → RECORD parsed (WHL-11) → entry_points.txt (WHL-13) → licence files (WHL-12) → every
member streamed once through the decompression budget, its CRC, size and RECORD hash checked
(WHL-7, WHL-11).
"""

from __future__ import annotations

import base64
import configparser
import csv
import email.parser
import email.policy
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from packaging.tags import InvalidTag, Tag, parse_tag
from packaging.version import Version

from services.upload.errors import InvalidArchiveError
from services.upload.validation.budget import UnpackBudget
from services.upload.validation.filenames import check_metadata_matches_filename
from services.upload.validation.metadata import parse_core_metadata
from services.upload.validation.types import CoreMetadata, InspectedDistribution, ParsedFilename, ValidationPolicy
from services.upload.validation.ziparchive import ZipMember, read_members
from services.upload.validation.zipstream import iter_member, read_member

REQUIRED_DIST_INFO_FILES = ("METADATA", "WHEEL", "RECORD")
UNRECORDED_FILES = ("RECORD", "RECORD.jws", "RECORD.p7s")  # WHL-11
RECORD_ALGORITHMS = frozenset(
    {"sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512", "blake2b", "blake2s"}
)  # WHL-11: sha256 or stronger
_WEAK_ALGORITHMS = frozenset({"md5", "sha1", "sha224"})
_DIGEST_RE = re.compile(r"[A-Za-z0-9_-]+\Z")
_SIZE_RE = re.compile(r"[0-9]+\Z")
_WHEEL_VERSION_RE = re.compile(r"(\d+)\.(\d+)\Z")
_BUILD_RE = re.compile(r"(\d+)(.*)\Z", re.ASCII)
_SCRIPT_NAME_RE = re.compile(r"[\w.-]+\Z")  # WHL-13
_OBJECT_REF_RE = re.compile(r"[\w.]+\s*(:\s*[\w.]+\s*)?(\[[^\[\]]*\]\s*)?\Z")
_SCRIPT_GROUPS = ("console_scripts", "gui_scripts")
_METADATA_HINT = "shorten the long description (README) embedded in METADATA"


@dataclass(frozen=True, kw_only=True)
class _RecordRow:
    algorithm: str
    digest: str
    size: int


@dataclass(frozen=True, kw_only=True)
class _DistInfo:
    directory: str  # "{name}-{version}.dist-info"
    members: dict[str, ZipMember]  # every member, by name

    def member(self, name: str) -> ZipMember | None:
        return self.members.get(f"{self.directory}/{name}")

    def path(self, name: str) -> str:
        return f"{self.directory}/{name}"


def inspect_wheel(path: Path, parsed: ParsedFilename, *, policy: ValidationPolicy) -> InspectedDistribution:
    """Validate a wheel on disk (WHL-7..13) and return its metadata and exact METADATA bytes."""
    archive_size = path.stat().st_size
    with path.open("rb") as fh:
        members = read_members(fh, filename=parsed.filename, policy=policy)
        dist_info = _locate_dist_info(members, parsed=parsed)
        small = _SmallFileReader(fh, dist_info=dist_info, budget=_budget(parsed, archive_size, policy), policy=policy)
        metadata_bytes = small.read("METADATA", hint=_METADATA_HINT)
        metadata = parse_core_metadata(metadata_bytes, source="wheel", policy=policy)
        check_metadata_matches_filename(metadata, parsed, member=dist_info.path("METADATA"))
        _check_wheel_file(small.read("WHEEL"), parsed=parsed, member=dist_info.path("WHEEL"))
        record = _parse_record(small.read("RECORD"), dist_info=dist_info)
        if dist_info.member("entry_points.txt") is not None:
            _check_entry_points(small.read("entry_points.txt"), member=dist_info.path("entry_points.txt"))
        _check_license_files(metadata, dist_info=dist_info)
        budget = _budget(parsed, archive_size, policy)
        _verify_members(fh, members, record=record, dist_info=dist_info, budget=budget)
    return InspectedDistribution(filename=parsed, metadata=metadata, metadata_bytes=metadata_bytes)


def _budget(parsed: ParsedFilename, archive_size: int, policy: ValidationPolicy) -> UnpackBudget:
    return UnpackBudget(parsed.filename, compressed_size=archive_size, policy=policy)


class _SmallFileReader:
    """Reads the .dist-info files the index parses, each capped at ``max_metadata_bytes``."""

    def __init__(self, fh: BinaryIO, *, dist_info: _DistInfo, budget: UnpackBudget, policy: ValidationPolicy) -> None:
        self._fh = fh
        self._dist_info = dist_info
        self._limit = policy.max_metadata_bytes
        # Its own budget: these bytes are counted again when every member is verified.
        self._budget = budget

    def read(self, name: str, *, hint: str = "") -> bytes:
        member = self._dist_info.member(name)
        if member is None:
            raise InvalidArchiveError(f"{self._budget.filename!r} has no {self._dist_info.path(name)}")
        return read_member(self._fh, member, limit=self._limit, budget=self._budget, hint=hint)


def _locate_dist_info(members: list[ZipMember], *, parsed: ParsedFilename) -> _DistInfo:
    """WHL-8: exactly one ``{name}-{version}.dist-info/``, spelled as in the filename."""
    name_part, version_part = parsed.filename.split("-")[:2]
    expected = f"{name_part}-{version_part}.dist-info"
    found = sorted({m.name.split("/")[0] for m in members if m.name.split("/")[0].endswith(".dist-info")})
    if found != [expected]:
        raise InvalidArchiveError(_dist_info_problem(parsed.filename, expected=expected, found=found))
    dist_info = _DistInfo(directory=expected, members={m.name: m for m in members})
    for name in REQUIRED_DIST_INFO_FILES:
        if dist_info.member(name) is None:
            raise InvalidArchiveError(
                f"{parsed.filename!r} has no {dist_info.path(name)}; every wheel needs METADATA, WHEEL and RECORD "
                "in its .dist-info directory. Rebuild it with a standard build backend"
            )
    return dist_info


def _dist_info_problem(filename: str, *, expected: str, found: list[str]) -> str:
    if not found:
        return f"{filename!r} has no .dist-info directory; expected {expected}/. Rebuild the wheel"
    if expected not in found:
        return (
            f"{filename!r} contains {', '.join(d + '/' for d in found)} but its filename requires {expected}/ "
            "(spelled exactly like the filename's name and version); do not rename wheels, rebuild them"
        )
    return f"{filename!r} contains several .dist-info directories ({', '.join(found)}); a wheel has exactly one"


def _check_wheel_file(raw: bytes, *, parsed: ParsedFilename, member: str) -> None:
    """WHL-10: Wheel-Version 1.x, Root-Is-Purelib true/false, Tag and Build as in the filename."""
    fields = _parse_wheel_headers(raw, member=member)
    _check_wheel_version(fields, member=member)
    purelib = _single(fields, "Root-Is-Purelib", member=member)
    if purelib.lower() not in ("true", "false"):
        raise InvalidArchiveError(f"{member}: Root-Is-Purelib must be 'true' or 'false', not {purelib!r}")
    _check_wheel_tags(fields.get("tag", []), parsed=parsed, member=member)
    _check_wheel_build(fields.get("build", []), parsed=parsed, member=member)


def _parse_wheel_headers(raw: bytes, *, member: str) -> dict[str, list[str]]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidArchiveError(f"{member} is not valid UTF-8; rebuild the wheel") from None
    message = email.parser.Parser(policy=email.policy.compat32).parsestr(text, headersonly=True)
    fields: dict[str, list[str]] = {}
    for key, value in message.items():
        fields.setdefault(key.lower(), []).append(str(value).strip())
    return fields


def _single(fields: dict[str, list[str]], header: str, *, member: str) -> str:
    values = fields.get(header.lower(), [])
    if len(values) != 1:
        raise InvalidArchiveError(
            f"{member} must contain exactly one {header} field (found {len(values)}); rebuild the wheel"
        )
    return values[0]


def _check_wheel_version(fields: dict[str, list[str]], *, member: str) -> None:
    version = _single(fields, "Wheel-Version", member=member)
    match = _WHEEL_VERSION_RE.match(version)
    if match is None:
        raise InvalidArchiveError(f"{member}: Wheel-Version {version!r} is not of the form 1.0")
    if int(match[1]) != 1:
        raise InvalidArchiveError(
            f"{member}: Wheel-Version {version} is not supported; installers only understand 1.x wheels. "
            "Build with a backend that writes Wheel-Version: 1.0"
        )


def _check_wheel_tags(lines: list[str], *, parsed: ParsedFilename, member: str) -> None:
    tags: set[Tag] = set()
    try:
        for line in lines:
            tags |= parse_tag(line)
    except InvalidTag as exc:
        raise InvalidArchiveError(f"{member} has a malformed Tag line ({exc})") from None
    if tags != parsed.tags:
        written = ", ".join(sorted(map(str, tags))) or "none"
        expected = ", ".join(sorted(map(str, parsed.tags)))
        raise InvalidArchiveError(
            f"{member} lists the tags {written} but the filename {parsed.filename!r} has {expected}; "
            "the WHEEL Tag lines and the filename must name the same tags (do not rename wheels)"
        )


def _check_wheel_build(values: list[str], *, parsed: ParsedFilename, member: str) -> None:
    match = _BUILD_RE.match(values[0]) if len(values) == 1 else None
    build = (int(match[1]), match[2]) if match else None
    if len(values) > 1 or (values and build is None) or build != parsed.build_tag:
        found = f"'Build: {', '.join(values)}'" if values else "no Build field"
        wanted = f"'Build: {parsed.filename.split('-')[2]}'" if parsed.build_tag else "no Build field"
        raise InvalidArchiveError(f"{member} has {found} but the filename {parsed.filename!r} requires {wanted}")


def _parse_record(raw: bytes, *, dist_info: _DistInfo) -> dict[str, _RecordRow | None]:
    """WHL-11: CSV rows ``path,algorithm=urlsafe-b64-nopad-digest,size``; one row per path."""
    member = dist_info.path("RECORD")
    try:
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InvalidArchiveError(f"{member} is not a valid UTF-8 CSV file ({exc}); rebuild the wheel") from None
    record: dict[str, _RecordRow | None] = {}
    for number, row in enumerate(rows, start=1):
        if not row:
            continue
        if len(row) != 3 or row[0] in record:
            raise InvalidArchiveError(
                f"{member} line {number} is not a unique 'path,hash,size' row: {row!r}; rebuild the wheel"
            )
        record[row[0]] = _parse_record_row(row, dist_info=dist_info, where=f"{member} line {number}")
    return record


def _parse_record_row(row: list[str], *, dist_info: _DistInfo, where: str) -> _RecordRow | None:
    path, hash_value, size = row
    if path in {dist_info.path(name) for name in UNRECORDED_FILES} and not hash_value:
        return None
    algorithm, _, digest = hash_value.partition("=")
    if algorithm in _WEAK_ALGORITHMS:
        raise InvalidArchiveError(
            f"{where}: {path!r} is hashed with {algorithm}, which is not allowed; RECORD hashes must be sha256 "
            "or stronger. Rebuild the wheel with a current build backend"
        )
    if algorithm not in RECORD_ALGORITHMS or not _DIGEST_RE.match(digest):
        raise InvalidArchiveError(
            f"{where}: {hash_value!r} is not 'sha256=<urlsafe base64 digest without padding>' for {path!r}"
        )
    if not _SIZE_RE.match(size):
        raise InvalidArchiveError(f"{where}: the size {size!r} of {path!r} is not a non-negative integer")
    return _RecordRow(algorithm=algorithm, digest=digest, size=int(size))


def _check_entry_points(raw: bytes, *, member: str) -> None:
    """WHL-13: UTF-8 INI with ``=`` delimiters; script names ``[\\w.-]+``; values ``module[:attr] [extras]``."""
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None, default_section="\0")
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(raw.decode("utf-8"), source=member)
    except (UnicodeDecodeError, configparser.Error) as exc:
        raise InvalidArchiveError(f"{member} is not a valid UTF-8 INI file with '=' delimiters ({exc})") from None
    for group in parser.sections():
        for name, value in parser.items(group):
            _check_entry_point(group, name=name, value=value, member=member)


def _check_entry_point(group: str, *, name: str, value: str, member: str) -> None:
    if group in _SCRIPT_GROUPS and not _SCRIPT_NAME_RE.match(name):
        raise InvalidArchiveError(
            f"{member}: script name {name!r} in [{group}] may only contain letters, digits, '_', '.' and '-'"
        )
    if not _OBJECT_REF_RE.match(value):
        raise InvalidArchiveError(
            f"{member}: entry point {name!r} in [{group}] has the value {value!r}; expected 'module:attr [extras]'"
        )


def _check_license_files(metadata: CoreMetadata, *, dist_info: _DistInfo) -> None:
    """WHL-12: with Metadata-Version >= 2.4 each License-File is at .dist-info/licenses/<path>."""
    if Version(metadata.metadata_version) < Version("2.4"):
        return
    for license_file in metadata.license_files:
        if dist_info.member(f"licenses/{license_file}") is None:
            raise InvalidArchiveError(
                f"METADATA declares License-File {license_file!r} but the wheel has no "
                f"{dist_info.path('licenses/' + license_file)}; rebuild the wheel with a PEP 639-aware backend"
            )


def _verify_members(
    fh: BinaryIO,
    members: list[ZipMember],
    *,
    record: dict[str, _RecordRow | None],
    dist_info: _DistInfo,
    budget: UnpackBudget,
) -> None:
    """WHL-7, WHL-11: stream every member once; check its CRC, size and RECORD hash."""
    unrecorded = {dist_info.path(name) for name in UNRECORDED_FILES}
    for member in members:
        if member.name in unrecorded or member.is_dir:
            for _ in iter_member(fh, member, budget=budget):
                pass
            continue
        row = record.get(member.name)
        if row is None:
            raise InvalidArchiveError(
                f"{member.name!r} in {budget.filename!r} is not listed (with a hash) in {dist_info.path('RECORD')}; "
                "files must not be added to a wheel after it is built"
            )
        _verify_member(fh, member, row=row, budget=budget)
    _check_no_missing_files(record, members=members, dist_info=dist_info)


def _verify_member(fh: BinaryIO, member: ZipMember, *, row: _RecordRow, budget: UnpackBudget) -> None:
    hasher = hashlib.new(row.algorithm)
    size = 0
    for chunk in iter_member(fh, member, budget=budget):
        hasher.update(chunk)
        size += len(chunk)
    digest = base64.urlsafe_b64encode(hasher.digest()).rstrip(b"=").decode("ascii")
    if size != row.size or digest != row.digest:
        raise InvalidArchiveError(
            f"{member.name!r} in {budget.filename!r} does not match its RECORD entry (size {size}, "
            f"{row.algorithm}={digest}); the file was changed after the wheel was built. Rebuild the wheel"
        )


def _check_no_missing_files(
    record: dict[str, _RecordRow | None], *, members: list[ZipMember], dist_info: _DistInfo
) -> None:
    names = {member.name for member in members} | {dist_info.path(name) for name in UNRECORDED_FILES}
    for path in record:
        if path not in names:
            raise InvalidArchiveError(
                f"{dist_info.path('RECORD')} lists {path!r}, which is not in the wheel; rebuild the wheel"
            )
