"""Sdist inspection: SD-2 (safe gzip tar, bombs), SD-3 (layout), SD-4 (PKG-INFO), SD-5 (licence files)."""

from __future__ import annotations

import gzip
import re
import tarfile
import time
import tracemalloc
from pathlib import Path

import pytest

from services.upload.errors import InvalidArchiveError, InvalidMetadataError, MetadataMismatchError
from services.upload.validation.types import MiB, ValidationPolicy
from tests.upload.validation.checks import POLICY, inspect, refused
from tests.upload.validation.builders import (
    TarEntry,
    build_sdist,
    metadata_text,
    sdist_entries,
    sdist_filename,
    tar_bytes,
    tar_members_bytes,
    write_gz,
    write_sdist_bomb,
    write_tar_gz,
)

ROOT = "demo-1.0"
FILENAME = sdist_filename()




def with_entries(tmp_path: Path, *extra: TarEntry, **options: int) -> Path:
    """A valid sdist plus ``extra`` entries, written with tarfile."""
    return write_tar_gz(tmp_path / FILENAME, [*sdist_entries(), *extra], **options)


class TestValidSdists:
    """Sdists that must pass SD-2..5."""

    def test_sd4_valid_sdist_returns_metadata_without_metadata_bytes(self, tmp_path: Path) -> None:
        result = inspect(build_sdist(tmp_path))
        assert (result.metadata.name, result.metadata.version) == ("demo", "1.0")
        assert result.metadata_bytes is None
        assert result.warnings == []

    def test_sd4_missing_pyproject_is_only_a_warning(self, tmp_path: Path) -> None:
        result = inspect(build_sdist(tmp_path, files={"setup.py": b"from setuptools import setup\n"}))
        assert result.warnings == [
            f"{FILENAME} has no pyproject.toml at its root; the source distribution format requires one"
        ]

    def test_sd3_display_name_and_normalised_root(self, tmp_path: Path) -> None:
        result = inspect(build_sdist(tmp_path, name="Foo.Bar", version="2.0"))
        assert result.filename.filename == "foo_bar-2.0.tar.gz"
        assert result.metadata.name == "Foo.Bar"

    def test_sd2_links_inside_the_root_are_accepted(self, tmp_path: Path) -> None:
        path = with_entries(
            tmp_path,
            TarEntry(name=f"{ROOT}/docs", type=tarfile.DIRTYPE),
            TarEntry(name=f"{ROOT}/docs/README", type=tarfile.SYMTYPE, linkname="../pyproject.toml"),
            TarEntry(name=f"{ROOT}/copy.toml", type=tarfile.LNKTYPE, linkname=f"{ROOT}/pyproject.toml"),
        )
        assert inspect(path).metadata.name == "demo"

    def test_sd2_gnu_format_and_long_names_are_accepted(self, tmp_path: Path) -> None:
        long_name = f"{ROOT}/" + "/".join(["deep"] * 40) + "/module.py"
        path = with_entries(tmp_path, TarEntry(name=long_name, data=b"x = 1\n"), tar_format=tarfile.GNU_FORMAT)
        assert inspect(path).metadata.name == "demo"

    def test_sd2_concatenated_gzip_members_are_accepted(self, tmp_path: Path) -> None:
        data = tar_bytes(sdist_entries())
        (path := tmp_path / FILENAME).write_bytes(gzip.compress(data[:700]) + gzip.compress(data[700:]))
        assert inspect(path).metadata.name == "demo"

    def test_sd2_zero_padding_after_gzip_is_accepted(self, tmp_path: Path) -> None:
        path = write_tar_gz(tmp_path / FILENAME, sdist_entries(), trailing=bytes(300))
        assert inspect(path).metadata.name == "demo"

    def test_sd5_license_files_are_accepted(self, tmp_path: Path) -> None:
        path = build_sdist(
            tmp_path,
            metadata_version="2.4",
            metadata_extra="License-Expression: MIT\nLicense-File: LICENSE\nLicense-File: licenses/NOTICE\n",
            files={"pyproject.toml": b"", "LICENSE": b"MIT", "licenses/NOTICE": b"n"},
        )
        assert inspect(path).metadata.license_files == ["LICENSE", "licenses/NOTICE"]


class TestGzipLayer:
    """SD-2: a real gzip stream, complete, with nothing after it."""

    def test_sd2_plain_tar_is_refused(self, tmp_path: Path) -> None:
        (path := tmp_path / FILENAME).write_bytes(tar_bytes(sdist_entries()))
        assert f"'{FILENAME}' is not gzip-compressed" in refused(path)

    def test_sd2_zip_named_tar_gz_is_refused(self, tmp_path: Path) -> None:
        (path := tmp_path / FILENAME).write_bytes(b"PK\x03\x04" + bytes(100))
        assert "is not gzip-compressed" in refused(path)

    def test_sd2_corrupt_gzip_checksum_is_refused(self, tmp_path: Path) -> None:
        data = bytearray(gzip.compress(tar_bytes(sdist_entries())))
        data[-8] ^= 0xFF  # the CRC-32 in the gzip trailer
        (path := tmp_path / FILENAME).write_bytes(bytes(data))
        assert "is not a valid gzip stream (Error -3 while decompressing data: incorrect data check)" in refused(path)

    def test_sd2_truncated_gzip_is_refused(self, tmp_path: Path) -> None:
        data = gzip.compress(tar_bytes(sdist_entries()))
        (path := tmp_path / FILENAME).write_bytes(data[:-12])
        assert "is truncated (the gzip stream ends early)" in refused(path)

    def test_sd2_data_after_the_gzip_stream_is_refused(self, tmp_path: Path) -> None:
        path = write_tar_gz(tmp_path / FILENAME, sdist_entries(), trailing=b"hidden payload")
        assert "has data after the end of the gzip stream" in refused(path)

    def test_sd2_data_after_the_tar_end_marker_is_refused(self, tmp_path: Path) -> None:
        path = write_gz(tmp_path / FILENAME, tar_bytes(sdist_entries()) + b"hidden payload" + bytes(498))
        assert "has data after the end of the tar archive" in refused(path)

    def test_sd2_truncated_tar_member_is_refused(self, tmp_path: Path) -> None:
        data = tar_members_bytes([*sdist_entries(), TarEntry(name=f"{ROOT}/big.bin", size=10_000)])
        path = write_gz(tmp_path / FILENAME, data)
        assert "is not a valid tar archive (unexpected end of data)" in refused(path)


class TestTarMembers:
    """SD-2: no sparse files, devices, unsafe paths, escaping links or duplicates; never extracted."""

    def test_sd2_sparse_member_is_refused(self, tmp_path: Path) -> None:
        sparse = TarEntry(name=f"{ROOT}/sparse.bin", type=tarfile.GNUTYPE_SPARSE)
        path = with_entries(tmp_path, sparse, tar_format=tarfile.GNU_FORMAT)
        assert f"has a sparse member, '{ROOT}/sparse.bin'" in refused(path)

    @pytest.mark.parametrize("member_type", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE])
    def test_sd2_device_and_fifo_members_are_refused(self, tmp_path: Path, member_type: bytes) -> None:
        path = with_entries(tmp_path, TarEntry(name=f"{ROOT}/dev", type=member_type))
        assert f"has a device or FIFO member, '{ROOT}/dev'" in refused(path)

    def test_sd2_unknown_member_type_is_refused(self, tmp_path: Path) -> None:
        path = with_entries(tmp_path, TarEntry(name=f"{ROOT}/volume", type=b"V"))
        assert "has a member of unsupported type" in refused(path)

    def test_sd2_absolute_path_is_refused(self, tmp_path: Path) -> None:
        path = with_entries(tmp_path, TarEntry(name="/etc/cron.d/evil", data=b"x"))
        assert "has a member with an absolute path, '/etc/cron.d/evil'" in refused(path)

    @pytest.mark.parametrize("name", [f"{ROOT}/../evil.py", f"{ROOT}/./x.py", f"./{ROOT}/x.py"])
    def test_sd2_dot_components_are_refused(self, tmp_path: Path, name: str) -> None:
        path = with_entries(tmp_path, TarEntry(name=name, data=b"x"))
        assert "with '..', '.' or empty components" in refused(path)

    def test_sd2_backslash_and_control_characters_are_refused(self, tmp_path: Path) -> None:
        path = with_entries(tmp_path, TarEntry(name=f"{ROOT}/a\\b\x1b.py", data=b"x"))
        assert "empty, non-printable, not UTF-8 or contains a backslash" in refused(path)

    @pytest.mark.parametrize("target", ["../../etc/passwd", "/etc/passwd", "../other-1.0/x"])
    def test_sd2_symlink_escaping_the_root_is_refused(self, tmp_path: Path, target: str) -> None:
        path = with_entries(tmp_path, TarEntry(name=f"{ROOT}/link", type=tarfile.SYMTYPE, linkname=target))
        assert f"has a link '{ROOT}/link' -> {target!r} that points outside {ROOT}/" in refused(path)

    def test_sd2_hard_link_outside_the_root_is_refused(self, tmp_path: Path) -> None:
        path = with_entries(tmp_path, TarEntry(name=f"{ROOT}/passwd", type=tarfile.LNKTYPE, linkname="etc/passwd"))
        assert "that points outside demo-1.0/" in refused(path)

    def test_sd2_hard_link_to_a_missing_file_is_refused(self, tmp_path: Path) -> None:
        path = with_entries(tmp_path, TarEntry(name=f"{ROOT}/copy", type=tarfile.LNKTYPE, linkname=f"{ROOT}/later"))
        assert "which is not an earlier file" in refused(path)

    def test_sd2_duplicate_member_names_are_refused(self, tmp_path: Path) -> None:
        path = with_entries(tmp_path, TarEntry(name=f"{ROOT}/PKG-INFO", data=b"Metadata-Version: 2.1\n"))
        assert f"contains '{ROOT}/PKG-INFO' more than once" in refused(path)

    def test_sd2_too_many_members_is_refused(self, tmp_path: Path) -> None:
        message = refused(build_sdist(tmp_path), ValidationPolicy(max_members=3))
        assert "has more than 3 members" in message

    def test_sd2_oversized_extended_header_is_refused(self, tmp_path: Path) -> None:
        header = TarEntry(name="pax", type=tarfile.XHDTYPE, data=b"x" * (2 * MiB))
        path = write_gz(tmp_path / FILENAME, tar_members_bytes([header, *sdist_entries()]))
        assert "extended tar header; at most 1048576 bytes are accepted" in refused(path)

    def test_sd2_chain_of_long_name_headers_is_refused(self, tmp_path: Path) -> None:
        chain = [TarEntry(name="././@LongLink", type=tarfile.GNUTYPE_LONGNAME, data=b"x\0")] * 5000
        path = write_gz(tmp_path / FILENAME, tar_members_bytes([*sdist_entries(), *chain]))
        assert "has a chain of extended tar headers" in refused(path)

    def test_sd2_inspection_never_writes_to_disk(self, tmp_path: Path) -> None:
        path = with_entries(tmp_path, TarEntry(name=f"{ROOT}/link", type=tarfile.SYMTYPE, linkname="../../x"))
        before = sorted(p.name for p in tmp_path.rglob("*"))
        refused(path)
        assert sorted(p.name for p in tmp_path.rglob("*")) == before


class TestLayout:
    """SD-3: one top-level directory named like the filename stem, containing PKG-INFO."""

    def test_sd3_second_top_level_directory_is_refused(self, tmp_path: Path) -> None:
        path = with_entries(tmp_path, TarEntry(name="other/file.py", data=b"x"))
        assert f"must contain a single top-level directory named {ROOT}/, but has 'other/file.py'" in refused(path)

    def test_sd3_root_named_unlike_the_filename_is_refused(self, tmp_path: Path) -> None:
        path = build_sdist(tmp_path, root="demo-1.0.0")
        assert f"single top-level directory named {ROOT}/" in refused(path)

    def test_sd3_top_level_file_instead_of_directory_is_refused(self, tmp_path: Path) -> None:
        path = write_tar_gz(tmp_path / FILENAME, [TarEntry(name=ROOT, data=b"x"), *sdist_entries()[1:]])
        assert f"the top-level entry '{ROOT}' must be a directory" in refused(path)

    def test_sd3_missing_pkg_info_is_refused(self, tmp_path: Path) -> None:
        path = build_sdist(tmp_path, edit=lambda entries: entries.pop(1))
        assert f"has no {ROOT}/PKG-INFO" in refused(path)

    def test_sd3_nested_pkg_info_does_not_count(self, tmp_path: Path) -> None:
        def move_pkg_info(entries: list[TarEntry]) -> None:
            entries[1] = TarEntry(name=f"{ROOT}/src/demo.egg-info/PKG-INFO", data=entries[1].data)

        assert f"has no {ROOT}/PKG-INFO" in refused(build_sdist(tmp_path, edit=move_pkg_info))

    def test_sd3_pkg_info_symlink_is_refused(self, tmp_path: Path) -> None:
        def link_pkg_info(entries: list[TarEntry]) -> None:
            entries[1] = TarEntry(name=f"{ROOT}/PKG-INFO", type=tarfile.SYMTYPE, linkname="pyproject.toml")

        assert f"{ROOT}/PKG-INFO must be a regular file" in refused(build_sdist(tmp_path, edit=link_pkg_info))

    def test_sd3_oversized_pkg_info_is_refused(self, tmp_path: Path) -> None:
        path = build_sdist(tmp_path, metadata_extra="\n" + "long description " * 200)
        message = refused(path, ValidationPolicy(max_metadata_bytes=1024))
        assert f"{ROOT}/PKG-INFO in '{FILENAME}' is too large" in message


class TestPkgInfo:
    """SD-4: PKG-INFO passes the CMD rules and matches the filename."""

    def test_sd4_version_mismatch_is_refused(self, tmp_path: Path) -> None:
        path = build_sdist(tmp_path, pkg_info=metadata_text(name="demo", version="1.1"))
        message = refused(path, error=MetadataMismatchError)
        assert f"{ROOT}/PKG-INFO says Version '1.1'" in message
        assert "has version '1.0'" in message

    def test_sd4_name_mismatch_is_refused(self, tmp_path: Path) -> None:
        path = build_sdist(tmp_path, pkg_info=metadata_text(name="other", version="1.0"))
        assert "says Name 'other'" in refused(path, error=MetadataMismatchError)

    def test_sd4_pep440_equal_version_is_accepted(self, tmp_path: Path) -> None:
        path = build_sdist(tmp_path, pkg_info=metadata_text(name="DEMO", version="1.0.0"))
        assert inspect(path).metadata.version == "1.0.0"

    def test_sd4_invalid_pkg_info_is_refused(self, tmp_path: Path) -> None:
        path = build_sdist(tmp_path, pkg_info="Metadata-Version: 3.0\nName: demo\nVersion: 1.0\n")
        refused(path, error=InvalidMetadataError)


class TestLicenseFiles:
    """SD-5: Metadata-Version >= 2.4 License-File paths exist relative to the sdist root."""

    def test_sd5_missing_license_file_is_refused(self, tmp_path: Path) -> None:
        path = build_sdist(
            tmp_path, metadata_version="2.4", metadata_extra="License-Expression: MIT\nLicense-File: LICENSE\n"
        )
        assert f"License-File 'LICENSE' but '{FILENAME}' has no {ROOT}/LICENSE" in refused(path)


class TestDecompressionBombs:
    """SD-2 with the WHL-7 caps: decompressed bytes are counted, never trusted from headers."""

    def test_sd2_two_gib_bomb_stops_early_with_bounded_memory_and_time(self, tmp_path: Path) -> None:
        path = write_sdist_bomb(tmp_path, size=2 * 1024 * MiB)
        assert path.stat().st_size < 3 * MiB
        policy = ValidationPolicy(bomb_ratio_threshold_bytes=1 * MiB, max_compression_ratio=50)
        tracemalloc.start()
        started = time.perf_counter()
        try:
            message = refused(path, policy)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert f"'{FILENAME}' looks like a decompression bomb" in message
        unpacked = int(re.search(r"more than (\d+) bytes unpacked", message)[1])  # type: ignore[index]
        assert unpacked < 51 * path.stat().st_size  # stopped just past 50:1, not at 2 GiB
        assert peak < 16 * MiB
        assert time.perf_counter() - started < 5

    def test_sd2_total_unpacked_cap_is_enforced(self, tmp_path: Path) -> None:
        path = write_sdist_bomb(tmp_path, size=64 * MiB)
        message = refused(path, ValidationPolicy(max_unpacked_bytes=4 * MiB, max_compression_ratio=10**6))
        assert "unpacks to more than 4 MiB" in message
