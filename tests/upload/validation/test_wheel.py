"""Wheel inspection: WHL-7 (sound ZIP, decompression bombs), WHL-8..13, and inspect_distribution's dispatch."""

from __future__ import annotations

import os
import re
import stat
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from services.upload.errors import InvalidArchiveError, InvalidMetadataError, MetadataMismatchError
from services.upload.validation import inspect_distribution
from services.upload.validation.types import MiB, ValidationPolicy
from tests.upload.validation.checks import POLICY, inspect, refused
from tests.upload.validation.builders import (
    Members,
    ZipEntry,
    build_wheel,
    deflate,
    entries_from,
    metadata_text,
    record_bytes,
    wheel_filename,
    wheel_members,
    wheel_text,
    with_replaced,
    write_zip,
    zeros_deflate,
    zip_bytes,
)

DIST_INFO = "demo-1.0.dist-info"
FILENAME = wheel_filename()




def raw_wheel(tmp_path: Path, entries: list[ZipEntry], **options: object) -> Path:
    return write_zip(tmp_path / FILENAME, entries, **options)


def valid_entries(**overrides: object) -> list[ZipEntry]:
    return entries_from(wheel_members(), **overrides)


def rewrite_record(members: Members, old: bytes, new: bytes) -> None:
    members[f"{DIST_INFO}/RECORD"] = members[f"{DIST_INFO}/RECORD"].replace(old, new)


class TestValidWheels:
    """Wheels that must pass WHL-7..13."""

    def test_whl9_valid_wheel_returns_metadata_and_exact_metadata_bytes(self, tmp_path: Path) -> None:
        path = build_wheel(tmp_path)
        result = inspect(path)
        with zipfile.ZipFile(path) as archive:
            assert result.metadata_bytes == archive.read(f"{DIST_INFO}/METADATA")
        assert (result.metadata.name, result.metadata.version) == ("demo", "1.0")
        assert result.filename.filename == FILENAME

    def test_whl9_display_name_may_differ_from_normalised_filename_name(self, tmp_path: Path) -> None:
        result = inspect(build_wheel(tmp_path, name="Foo.Bar", version="2.0"))
        assert result.filename.filename == "foo_bar-2.0-py3-none-any.whl"
        assert result.metadata.name == "Foo.Bar"

    def test_whl9_pep440_equal_metadata_version_is_accepted(self, tmp_path: Path) -> None:
        path = build_wheel(tmp_path, metadata=metadata_text(name="demo", version="1.0.0"))
        assert inspect(path).metadata.version == "1.0.0"

    def test_whl7_data_descriptors_from_an_unseekable_writer_are_accepted(self, tmp_path: Path) -> None:
        path = build_wheel(tmp_path, streamed=True)
        with zipfile.ZipFile(path) as archive:
            assert all(info.flag_bits & 0x8 for info in archive.infolist())
        assert inspect(path).metadata.name == "demo"

    def test_whl7_zip64_records_and_extra_fields_are_accepted(self, tmp_path: Path) -> None:
        path = raw_wheel(tmp_path, valid_entries(zip64=True), zip64_end=True)
        assert inspect(path).metadata.name == "demo"

    def test_whl7_zip64_with_data_descriptors_is_accepted(self, tmp_path: Path) -> None:
        path = raw_wheel(tmp_path, valid_entries(zip64=True, descriptor=True), zip64_end=True)
        assert inspect(path).metadata.name == "demo"

    def test_whl7_zipfile_force_zip64_local_headers_are_accepted(self, tmp_path: Path) -> None:
        path = tmp_path / FILENAME
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in wheel_members().items():
                with archive.open(name, "w", force_zip64=True) as member:
                    member.write(data)
        assert inspect(path).metadata.name == "demo"

    def test_whl7_stored_members_are_accepted(self, tmp_path: Path) -> None:
        assert inspect(raw_wheel(tmp_path, valid_entries(method=0))).metadata.name == "demo"

    def test_whl7_utf8_member_names_are_accepted(self, tmp_path: Path) -> None:
        path = build_wheel(tmp_path, files={"demo/données.txt": b"ok"})
        assert inspect(path).metadata.name == "demo"

    def test_whl5_whl10_platform_wheel_with_build_tag_is_accepted(self, tmp_path: Path) -> None:
        tag = "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64"
        result = inspect(build_wheel(tmp_path, build_tag="7", tag=tag))
        assert result.filename.build_tag == (7, "")
        assert len(result.filename.tags) == 2

    def test_whl11_stronger_hash_is_accepted(self, tmp_path: Path) -> None:
        def use_sha512(members: Members) -> None:
            listed = {k: v for k, v in members.items() if not k.endswith("/RECORD")}
            members[f"{DIST_INFO}/RECORD"] = record_bytes(listed, record_path=f"{DIST_INFO}/RECORD", algorithm="sha512")

        assert inspect(build_wheel(tmp_path, edit=use_sha512)).metadata.name == "demo"

    def test_whl12_license_files_in_dist_info_licenses_are_accepted(self, tmp_path: Path) -> None:
        path = build_wheel(
            tmp_path,
            metadata_version="2.4",
            metadata_extra="License-Expression: MIT\n",
            license_files={"LICENSE": b"MIT", "vendor/NOTICE.txt": b"notice"},
        )
        assert inspect(path).metadata.license_files == ["LICENSE", "vendor/NOTICE.txt"]

    def test_whl13_valid_entry_points_are_accepted(self, tmp_path: Path) -> None:
        entry_points = (
            "[console_scripts]\ndemo-cli = demo.cli:main\n[demo.plugins]\nFancy Name = demo.plugins:Fancy [extra]\n"
        )
        assert inspect(build_wheel(tmp_path, entry_points=entry_points)).metadata.name == "demo"


class TestZipStructure:
    """WHL-7: only unambiguous ZIPs; each crafted case is refused with a specific message."""

    def test_whl7_not_a_zip_is_refused(self, tmp_path: Path) -> None:
        (path := tmp_path / FILENAME).write_bytes(b"not a zip at all" * 10)
        assert "no end-of-central-directory record" in refused(path)

    def test_whl7_truncated_archive_is_refused(self, tmp_path: Path) -> None:
        data = zip_bytes(valid_entries())
        (path := tmp_path / FILENAME).write_bytes(data[:-30])
        assert "no end-of-central-directory record" in refused(path)

    def test_whl7_prepended_data_is_refused(self, tmp_path: Path) -> None:
        path = raw_wheel(tmp_path, valid_entries(), prefix=b"#!/bin/sh\nexec python\n")
        assert "bytes of unexpected data before the first member (prepended data)" in refused(path)

    def test_whl7_data_between_records_is_refused(self, tmp_path: Path) -> None:
        path = raw_wheel(tmp_path, valid_entries(), between=b"hidden payload")
        assert "14 bytes of unexpected data before member" in refused(path)

    def test_whl7_trailing_data_after_end_record_is_refused(self, tmp_path: Path) -> None:
        path = raw_wheel(tmp_path, valid_entries(), trailing=b"trailing junk")
        assert "13 bytes of data after the end-of-central-directory record" in refused(path)

    def test_whl7_second_end_record_is_refused(self, tmp_path: Path) -> None:
        data = zip_bytes(valid_entries())
        (path := tmp_path / FILENAME).write_bytes(data + data[-22:])
        assert "22 bytes of unexpected data between the central directory and the end records" in refused(path)

    def test_whl7_comment_hiding_an_archive_is_refused(self, tmp_path: Path) -> None:
        hidden = zip_bytes([ZipEntry(name="evil.py", data=b"import os")])
        path = raw_wheel(tmp_path, valid_entries(), comment=hidden)
        assert "more than one end-of-central-directory record" in refused(path)

    def test_whl7_comment_carrying_record_signatures_is_refused(self, tmp_path: Path) -> None:
        path = raw_wheel(tmp_path, valid_entries(), comment=b"see PK\x03\x04 inside")
        assert "comment contains ZIP record signatures" in refused(path)

    def test_whl7_plain_comment_is_accepted(self, tmp_path: Path) -> None:
        assert inspect(raw_wheel(tmp_path, valid_entries(), comment=b"built by hand")).metadata.name == "demo"

    def test_whl7_central_name_disagreeing_with_local_header_is_refused(self, tmp_path: Path) -> None:
        entries = with_replaced(valid_entries(), "demo/__init__.py", local_name=b"demo/__evil__.py")
        message = refused(raw_wheel(tmp_path, entries))
        assert "local header name b'demo/__evil__.py' disagrees with central directory name" in message

    def test_whl7_central_offset_disagreeing_with_local_records_is_refused(self, tmp_path: Path) -> None:
        entries = with_replaced(valid_entries(), f"{DIST_INFO}/WHEEL", central_offset_delta=7)
        message = refused(raw_wheel(tmp_path, entries))
        assert f"7 bytes of unexpected data before member '{DIST_INFO}/WHEEL'" in message

    def test_whl7_two_entries_sharing_one_local_record_are_refused(self, tmp_path: Path) -> None:
        entries = [*valid_entries(), ZipEntry(name="demo/alias.py", central_offset=0)]
        assert "overlapping records before member 'demo/alias.py'" in refused(raw_wheel(tmp_path, entries))

    def test_whl7_duplicate_member_names_are_refused(self, tmp_path: Path) -> None:
        entries = [*valid_entries(), ZipEntry(name="demo/__init__.py", data=b"import evil\n")]
        assert "duplicate member name 'demo/__init__.py'" in refused(raw_wheel(tmp_path, entries))

    def test_whl7_case_variant_names_are_not_duplicates(self, tmp_path: Path) -> None:
        path = build_wheel(tmp_path, files={"demo/__init__.py": b"", "demo/Data.txt": b"a", "demo/data.txt": b"b"})
        assert inspect(path).metadata.name == "demo"

    def test_whl7_unsupported_compression_method_is_refused(self, tmp_path: Path) -> None:
        entries = with_replaced(valid_entries(), "demo/__init__.py", method=12, compressed=b"BZh9")
        assert "uses compression method 12; only stored (0) and deflate (8)" in refused(raw_wheel(tmp_path, entries))

    def test_whl7_encrypted_member_is_refused(self, tmp_path: Path) -> None:
        entries = with_replaced(valid_entries(), "demo/__init__.py", flags=0x1)
        assert "'demo/__init__.py' is encrypted" in refused(raw_wheel(tmp_path, entries))

    def test_whl7_non_utf8_member_name_is_refused(self, tmp_path: Path) -> None:
        entries = [*valid_entries(), ZipEntry(name=b"demo/\xff\xfe.py", utf8_flag=False)]
        assert "is not valid UTF-8" in refused(raw_wheel(tmp_path, entries))

    def test_whl7_non_ascii_name_without_utf8_flag_is_refused(self, tmp_path: Path) -> None:
        entries = [*valid_entries(), ZipEntry(name="demo/é.py", utf8_flag=False)]
        assert "UTF-8 flag (bit 11) is not set" in refused(raw_wheel(tmp_path, entries))

    def test_whl7_non_printable_member_name_is_refused(self, tmp_path: Path) -> None:
        entries = [*valid_entries(), ZipEntry(name="demo/a\x1bb.py")]
        assert "non-printable characters" in refused(raw_wheel(tmp_path, entries))

    @pytest.mark.parametrize("name", ["/etc/passwd", "C:/Windows/evil.dll"])
    def test_whl7_absolute_member_path_is_refused(self, tmp_path: Path, name: str) -> None:
        entries = [*valid_entries(), ZipEntry(name=name)]
        assert "is an absolute path" in refused(raw_wheel(tmp_path, entries))

    @pytest.mark.parametrize("name", ["demo/../../evil.py", "../evil.py", "demo/./x.py", "demo//x.py"])
    def test_whl7_dot_dot_and_empty_components_are_refused(self, tmp_path: Path, name: str) -> None:
        entries = [*valid_entries(), ZipEntry(name=name)]
        assert "contains '..', '.' or empty path components" in refused(raw_wheel(tmp_path, entries))

    def test_whl7_backslash_in_member_name_is_refused(self, tmp_path: Path) -> None:
        entries = [*valid_entries(), ZipEntry(name="demo\\evil.py")]
        assert "contains a backslash" in refused(raw_wheel(tmp_path, entries))

    def test_whl7_symlink_member_is_refused(self, tmp_path: Path) -> None:
        entries = [*valid_entries(), ZipEntry(name="demo/link", data=b"/etc/passwd", mode=stat.S_IFLNK | 0o777)]
        assert "'demo/link' is a symbolic link" in refused(raw_wheel(tmp_path, entries))

    @pytest.mark.parametrize("file_type", [stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK])
    def test_whl7_device_fifo_and_socket_members_are_refused(self, tmp_path: Path, file_type: int) -> None:
        entries = [*valid_entries(), ZipEntry(name="demo/dev", mode=file_type | 0o644)]
        assert "is a device, FIFO or socket" in refused(raw_wheel(tmp_path, entries))

    def test_whl7_directory_entry_with_data_is_refused(self, tmp_path: Path) -> None:
        entries = [*valid_entries(), ZipEntry(name="demo/sub/", data=b"hidden", mode=stat.S_IFDIR | 0o755)]
        assert "directory entry 'demo/sub/' has data" in refused(raw_wheel(tmp_path, entries))

    def test_whl7_crc_mismatch_is_refused(self, tmp_path: Path) -> None:
        entries = with_replaced(valid_entries(), "demo/__init__.py", crc=0)
        assert "'demo/__init__.py' fails its CRC-32 check" in refused(raw_wheel(tmp_path, entries))

    def test_whl7_data_after_the_deflate_stream_is_refused(self, tmp_path: Path) -> None:
        entries = with_replaced(
            valid_entries(), "demo/__init__.py", compressed=deflate(b"VALUE = 1\n") + b"smuggled"
        )
        assert "has data after the end of its deflate stream" in refused(raw_wheel(tmp_path, entries))

    def test_whl7_truncated_deflate_stream_is_refused(self, tmp_path: Path) -> None:
        entries = with_replaced(valid_entries(), "demo/__init__.py", compressed=deflate(b"VALUE = 1\n")[:-3])
        assert "the deflate stream of 'demo/__init__.py' is truncated" in refused(raw_wheel(tmp_path, entries))

    def test_whl7_too_many_members_is_refused(self, tmp_path: Path) -> None:
        message = refused(build_wheel(tmp_path), policy=ValidationPolicy(max_members=3))
        assert "has more than 3 members" in message


    def test_whl7_tiny_file_is_refused(self, tmp_path: Path) -> None:
        (path := tmp_path / FILENAME).write_bytes(b"PK\x05\x06" + bytes(13))
        assert "no end-of-central-directory record" in refused(path)


def bomb_wheel(tmp_path: Path, *, size: int, declared: int | None = None, extra: Members | None = None) -> Path:
    """A valid wheel plus ``demo/zeros.bin``: ``size`` zero bytes in ~size/1000 bytes of deflate."""
    members = wheel_members(files={"demo/__init__.py": b"", **(extra or {}), "demo/zeros.bin": b""})
    entries = with_replaced(
        entries_from(members), "demo/zeros.bin", compressed=zeros_deflate(size), file_size=declared or size, crc=0
    )
    return raw_wheel(tmp_path, entries)


class TestDecompressionBombs:
    """WHL-7: never trust declared sizes; stop at the caps with bounded memory and time."""

    def test_whl7_two_gib_ratio_bomb_stops_early_with_bounded_memory_and_time(self, tmp_path: Path) -> None:
        path = bomb_wheel(tmp_path, size=2 * 1024 * MiB)
        assert path.stat().st_size < 3 * MiB
        policy = ValidationPolicy(bomb_ratio_threshold_bytes=1 * MiB, max_compression_ratio=50)
        tracemalloc.start()
        started = time.perf_counter()
        try:
            message = refused(path, policy)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert "looks like a decompression bomb" in message
        unpacked = int(re.search(r"more than (\d+) bytes unpacked", message)[1])  # type: ignore[index]
        assert unpacked < 51 * path.stat().st_size + 64 * 1024  # stopped one chunk past 50:1, not at 2 GiB
        assert peak < 16 * MiB
        assert time.perf_counter() - started < 5

    def test_whl7_total_unpacked_cap_is_enforced(self, tmp_path: Path) -> None:
        path = bomb_wheel(tmp_path, size=64 * MiB)
        message = refused(path, ValidationPolicy(max_unpacked_bytes=4 * MiB, max_compression_ratio=10**6))
        assert "unpacks to more than 4 MiB" in message

    def test_whl7_member_larger_than_its_declared_size_is_refused(self, tmp_path: Path) -> None:
        path = bomb_wheel(tmp_path, size=2 * 1024 * MiB, declared=1024)
        assert "'demo/zeros.bin' unpacks to more than its declared 1024 bytes" in refused(path)

    def test_whl7_per_member_ratio_applies_inside_a_large_archive(self, tmp_path: Path) -> None:
        path = bomb_wheel(tmp_path, size=40 * MiB, extra={"demo/noise.bin": os.urandom(2 * MiB)})
        policy = ValidationPolicy(bomb_ratio_threshold_bytes=1 * MiB, max_compression_ratio=50)
        message = refused(path, policy)
        assert f"member 'demo/zeros.bin' of '{FILENAME}' looks like a decompression bomb" in message

    def test_whl7_compressible_wheel_under_threshold_is_accepted(self, tmp_path: Path) -> None:
        path = build_wheel(tmp_path, files={"demo/__init__.py": b"", "demo/zeros.bin": bytes(2 * MiB)})
        policy = ValidationPolicy(bomb_ratio_threshold_bytes=4 * MiB, max_compression_ratio=50)
        assert inspect(path, policy).metadata.name == "demo"

    def test_whl7_oversized_metadata_is_refused_before_reading(self, tmp_path: Path) -> None:
        path = build_wheel(tmp_path, metadata_extra="\n" + "long description " * 200)
        message = refused(path, ValidationPolicy(max_metadata_bytes=1024))
        assert f"{DIST_INFO}/METADATA in '{FILENAME}' is too large" in message
        assert "shorten the long description" in message


class TestDistInfo:
    """WHL-8: one ``{name}-{version}.dist-info/`` spelled as in the filename, holding METADATA, WHEEL, RECORD."""

    @pytest.mark.parametrize("missing", ["METADATA", "WHEEL", "RECORD"])
    def test_whl8_missing_required_file_is_refused(self, tmp_path: Path, missing: str) -> None:
        path = build_wheel(tmp_path, edit=lambda members: members.pop(f"{DIST_INFO}/{missing}"))
        assert f"has no {DIST_INFO}/{missing}" in refused(path)

    def test_whl8_missing_dist_info_is_refused(self, tmp_path: Path) -> None:
        def drop_dist_info(members: Members) -> None:
            for name in [n for n in members if n.startswith(DIST_INFO)]:
                del members[name]

        message = refused(build_wheel(tmp_path, edit=drop_dist_info))
        assert f"has no .dist-info directory; expected {DIST_INFO}/" in message

    def test_whl8_dist_info_spelled_differently_from_filename_is_refused(self, tmp_path: Path) -> None:
        members = {name.replace(DIST_INFO, "Demo-1.0.0.dist-info"): data for name, data in wheel_members().items()}
        message = refused(raw_wheel(tmp_path, entries_from(members)))
        assert f"contains Demo-1.0.0.dist-info/ but its filename requires {DIST_INFO}/" in message

    def test_whl8_second_dist_info_is_refused(self, tmp_path: Path) -> None:
        path = build_wheel(tmp_path, edit=lambda members: members.update({"other-2.0.dist-info/METADATA": b""}))
        assert "several .dist-info directories" in refused(path)


class TestMetadata:
    """WHL-9: METADATA passes the CMD rules and matches the filename's name and version."""

    def test_whl9_renamed_wheel_is_refused(self, tmp_path: Path) -> None:
        path = build_wheel(tmp_path, metadata=metadata_text(name="other", version="1.0"))
        message = refused(path, error=MetadataMismatchError)
        assert "says Name 'other'" in message
        assert "for project 'demo'" in message

    def test_whl9_version_mismatch_is_refused(self, tmp_path: Path) -> None:
        path = build_wheel(tmp_path, metadata=metadata_text(name="demo", version="1.1"))
        message = refused(path, error=MetadataMismatchError)
        assert "says Version '1.1'" in message
        assert "has version '1.0'" in message

    def test_whl9_invalid_metadata_is_refused(self, tmp_path: Path) -> None:
        path = build_wheel(tmp_path, metadata="Metadata-Version: 3.0\nName: demo\nVersion: 1.0\n")
        refused(path, error=InvalidMetadataError)


class TestWheelFile:
    """WHL-10: Wheel-Version 1.x, Root-Is-Purelib, Tag and Build lines."""

    def test_whl10_wheel_version_2_is_refused(self, tmp_path: Path) -> None:
        path = build_wheel(tmp_path, wheel=wheel_text().replace("Wheel-Version: 1.0", "Wheel-Version: 2.0"))
        assert "Wheel-Version 2.0 is not supported" in refused(path)

    def test_whl10_missing_wheel_version_is_refused(self, tmp_path: Path) -> None:
        path = build_wheel(tmp_path, wheel=wheel_text().replace("Wheel-Version: 1.0\n", ""))
        assert "exactly one Wheel-Version field (found 0)" in refused(path)

    def test_whl10_invalid_root_is_purelib_is_refused(self, tmp_path: Path) -> None:
        path = build_wheel(tmp_path, wheel=wheel_text(purelib="maybe"))
        assert "Root-Is-Purelib must be 'true' or 'false', not 'maybe'" in refused(path)

    def test_whl10_tags_differing_from_filename_are_refused(self, tmp_path: Path) -> None:
        path = build_wheel(tmp_path, wheel=wheel_text(tag="py2.py3-none-any"))
        message = refused(path)
        assert "lists the tags py2-none-any, py3-none-any" in message
        assert "has py3-none-any" in message

    def test_whl10_build_differing_from_filename_is_refused(self, tmp_path: Path) -> None:
        path = build_wheel(tmp_path, build_tag="2", wheel=wheel_text(build_tag="1"))
        assert "has 'Build: 1' but the filename" in refused(path)

    def test_whl10_missing_build_for_a_build_tag_is_refused(self, tmp_path: Path) -> None:
        path = build_wheel(tmp_path, build_tag="1", wheel=wheel_text())
        assert "has no Build field but the filename 'demo-1.0-1-py3-none-any.whl' requires 'Build: 1'" in refused(path)


class TestRecord:
    """WHL-11: every member listed with a sha256-or-stronger hash and its size, verified while streaming."""

    def test_whl11_member_edited_after_build_is_refused(self, tmp_path: Path) -> None:
        path = build_wheel(tmp_path, edit=lambda m: m.update({"demo/__init__.py": b"import evil\n"}))
        assert "'demo/__init__.py' in 'demo-1.0-py3-none-any.whl' does not match its RECORD entry" in refused(path)

    def test_whl11_member_added_after_build_is_refused(self, tmp_path: Path) -> None:
        path = build_wheel(tmp_path, edit=lambda m: m.update({"demo/extra.py": b""}))
        assert f"'demo/extra.py' in '{FILENAME}' is not listed (with a hash) in {DIST_INFO}/RECORD" in refused(path)

    @pytest.mark.parametrize("algorithm", ["md5", "sha1"])
    def test_whl11_weak_hash_is_refused(self, tmp_path: Path, algorithm: str) -> None:
        def weaken(members: Members) -> None:
            listed = {k: v for k, v in members.items() if not k.endswith("/RECORD")}
            record = record_bytes(listed, record_path=f"{DIST_INFO}/RECORD", algorithm=algorithm)
            members[f"{DIST_INFO}/RECORD"] = record

        assert f"is hashed with {algorithm}, which is not allowed" in refused(build_wheel(tmp_path, edit=weaken))

    def test_whl11_padded_digest_is_refused(self, tmp_path: Path) -> None:
        path = build_wheel(tmp_path, edit=lambda m: rewrite_record(m, b",10\n", b"=,10\n"))
        assert "is not 'sha256=<urlsafe base64 digest without padding>'" in refused(path)

    def test_whl11_wrong_size_is_refused(self, tmp_path: Path) -> None:
        path = build_wheel(tmp_path, edit=lambda m: rewrite_record(m, b",10\n", b",11\n"))
        assert "does not match its RECORD entry (size 10" in refused(path)

    def test_whl11_row_for_a_missing_file_is_refused(self, tmp_path: Path) -> None:
        ghost = b"demo/ghost.py,sha256=x,1\ndemo/__init__"
        path = build_wheel(tmp_path, edit=lambda m: rewrite_record(m, b"demo/__init__", ghost))
        assert f"{DIST_INFO}/RECORD lists 'demo/ghost.py', which is not in the wheel" in refused(path)

    def test_whl11_malformed_row_is_refused(self, tmp_path: Path) -> None:
        path = build_wheel(tmp_path, edit=lambda m: rewrite_record(m, b"demo/__init__.py,", b"demo/__init__.py;"))
        assert "line 1 is not a unique 'path,hash,size' row" in refused(path)

    def test_whl11_duplicate_row_is_refused(self, tmp_path: Path) -> None:
        def duplicate(members: Members) -> None:
            record = members[f"{DIST_INFO}/RECORD"]
            members[f"{DIST_INFO}/RECORD"] = record.splitlines(keepends=True)[0] + record

        assert "line 2 is not a unique 'path,hash,size' row" in refused(build_wheel(tmp_path, edit=duplicate))

    def test_whl11_non_utf8_record_is_refused(self, tmp_path: Path) -> None:
        path = build_wheel(tmp_path, edit=lambda m: rewrite_record(m, b"demo/__init__.py", b"demo/\xff.py"))
        assert "is not a valid UTF-8 CSV file" in refused(path)


class TestLicenseFiles:
    """WHL-12: Metadata-Version >= 2.4 License-File paths live under .dist-info/licenses/."""

    def test_whl12_missing_license_file_is_refused(self, tmp_path: Path) -> None:
        path = build_wheel(
            tmp_path, metadata_version="2.4", metadata_extra="License-Expression: MIT\nLicense-File: LICENSE\n"
        )
        assert f"License-File 'LICENSE' but the wheel has no {DIST_INFO}/licenses/LICENSE" in refused(path)

    def test_whl12_license_file_at_the_wheel_root_does_not_count(self, tmp_path: Path) -> None:
        path = build_wheel(
            tmp_path,
            metadata_version="2.4",
            metadata_extra="License-Expression: MIT\nLicense-File: LICENSE\n",
            files={"demo/__init__.py": b"", "LICENSE": b"MIT"},
        )
        assert "has no demo-1.0.dist-info/licenses/LICENSE" in refused(path)


class TestEntryPoints:
    """WHL-13: entry_points.txt is UTF-8 INI with '=' delimiters and sane script names."""

    def test_whl13_path_like_script_name_is_refused(self, tmp_path: Path) -> None:
        path = build_wheel(tmp_path, entry_points="[console_scripts]\n../evil = demo:main\n")
        assert "script name '../evil' in [console_scripts] may only contain" in refused(path)

    def test_whl13_invalid_object_reference_is_refused(self, tmp_path: Path) -> None:
        path = build_wheel(tmp_path, entry_points="[console_scripts]\ndemo = rm -rf /\n")
        assert "expected 'module:attr [extras]'" in refused(path)

    def test_whl13_colon_delimiter_is_refused(self, tmp_path: Path) -> None:
        path = build_wheel(tmp_path, entry_points="[console_scripts]\ndemo: demo:main\n")
        assert "is not a valid UTF-8 INI file with '=' delimiters" in refused(path)

    def test_whl13_non_utf8_entry_points_are_refused(self, tmp_path: Path) -> None:
        members = wheel_members(entry_points="[console_scripts]\n")
        members[f"{DIST_INFO}/entry_points.txt"] = b"[console_scripts]\n\xff = demo:main\n"
        path = raw_wheel(tmp_path, entries_from(members))
        assert "is not a valid UTF-8 INI file" in refused(path)


class TestDispatch:
    """inspect_distribution parses the filename first (WHL-1) and dispatches on the extension."""

    def test_filename_is_checked_before_the_archive_is_opened(self, tmp_path: Path) -> None:
        from services.upload.errors import InvalidFilenameError

        with pytest.raises(InvalidFilenameError):
            inspect_distribution(tmp_path / "missing.whl", "Demo-1.0-py3-none-any.whl", policy=POLICY)
