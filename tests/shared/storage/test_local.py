"""What only the filesystem adapter promises: atomic renames, no stray files, no escape."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from shared.storage import LocalBlobStorage
from shared.storage import local as local_module

KEY = "ab/cd/ef0123/foo-1.0-py3-none-any.whl"


def _files_under(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


class TestLocalBlobStorage:
    async def test_writes_the_blob_at_its_key_under_root(self, tmp_path: Path) -> None:
        storage = LocalBlobStorage(tmp_path)

        await storage.put_bytes(KEY, b"wheel")

        assert (tmp_path / KEY).read_bytes() == b"wheel"
        assert _files_under(tmp_path) == [KEY]
        assert stat.S_IMODE((tmp_path / KEY).stat().st_mode) == 0o644

    async def test_put_file_leaves_no_temp_file(self, tmp_path: Path) -> None:
        storage = LocalBlobStorage(tmp_path / "root")
        source = tmp_path / "upload.whl"
        source.write_bytes(b"x" * 3_000_000)

        await storage.put_file(KEY, source)
        await storage.put_file(KEY, source)

        assert _files_under(tmp_path / "root") == [KEY]

    @pytest.mark.parametrize("method", ["put_bytes", "put_file"])
    async def test_failed_write_leaves_nothing(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str
    ) -> None:
        storage = LocalBlobStorage(tmp_path / "root")
        source = tmp_path / "upload.whl"
        source.write_bytes(b"wheel")

        def failing_fsync(fd: int) -> None:
            raise OSError("disk on fire")

        monkeypatch.setattr(local_module.os, "fsync", failing_fsync)
        with pytest.raises(OSError, match="disk on fire"):
            if method == "put_bytes":
                await storage.put_bytes(KEY, b"wheel")
            else:
                await storage.put_file(KEY, source)

        assert _files_under(tmp_path / "root") == []

    async def test_failed_replace_keeps_the_previous_blob(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        storage = LocalBlobStorage(tmp_path)
        await storage.put_bytes(KEY, b"old")

        def failing_replace(src: str, dst: str) -> None:
            raise OSError("rename failed")

        monkeypatch.setattr(local_module.os, "replace", failing_replace)
        with pytest.raises(OSError, match="rename failed"):
            await storage.put_bytes(KEY, b"new")

        assert _files_under(tmp_path) == [KEY]
        assert (tmp_path / KEY).read_bytes() == b"old"

    async def test_move_renames_the_file_into_place(self, tmp_path: Path) -> None:
        storage = LocalBlobStorage(tmp_path / "root")
        source = tmp_path / "spool" / "upload.whl"
        source.parent.mkdir()
        source.write_bytes(b"wheel")
        source.chmod(0o600)  # as tempfile.mkstemp creates it
        inode = source.stat().st_ino

        await storage.put_file(KEY, source, move=True)

        assert not source.exists()
        blob = tmp_path / "root" / KEY
        assert (blob.read_bytes(), blob.stat().st_ino) == (b"wheel", inode)  # renamed, not copied
        assert stat.S_IMODE(blob.stat().st_mode) == 0o644
        assert _files_under(tmp_path / "root") == [KEY]

    async def test_move_fsyncs_the_file_before_the_rename(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        storage = LocalBlobStorage(tmp_path / "root")
        source = tmp_path / "upload.whl"
        source.write_bytes(b"wheel")
        calls: list[str] = []
        real_fsync, real_replace = os.fsync, os.replace

        def fsync(fd: int) -> None:
            calls.append("fsync-dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync-file")
            real_fsync(fd)

        def replace(src: str, dst: str) -> None:
            calls.append("replace")
            real_replace(src, dst)

        monkeypatch.setattr(local_module.os, "fsync", fsync)
        monkeypatch.setattr(local_module.os, "replace", replace)
        await storage.put_file(KEY, source, move=True)

        assert calls == ["fsync-file", "replace", "fsync-dir"]

    async def test_move_across_filesystems_copies(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        storage = LocalBlobStorage(tmp_path / "root")
        source = tmp_path / "upload.whl"
        source.write_bytes(b"wheel")
        real_replace = os.replace

        def replace(src: str, dst: str) -> None:
            if Path(src) == source:
                raise OSError(errno.EXDEV, "Invalid cross-device link")
            real_replace(src, dst)

        monkeypatch.setattr(local_module.os, "replace", replace)
        await storage.put_file(KEY, source, move=True)

        assert (tmp_path / "root" / KEY).read_bytes() == b"wheel"
        assert source.read_bytes() == b"wheel"  # copied: still the caller's to delete
        assert _files_under(tmp_path / "root") == [KEY]

    async def test_move_onto_an_existing_blob_keeps_that_blob(self, tmp_path: Path) -> None:
        storage = LocalBlobStorage(tmp_path / "root")
        await storage.put_bytes(KEY, b"wheel")
        inode = (tmp_path / "root" / KEY).stat().st_ino
        source = tmp_path / "upload.whl"
        source.write_bytes(b"wheel")

        await storage.put_file(KEY, source, move=True)

        assert (tmp_path / "root" / KEY).stat().st_ino == inode
        assert source.read_bytes() == b"wheel"

    async def test_failed_move_leaves_nothing_and_keeps_the_source(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        storage = LocalBlobStorage(tmp_path / "root")
        source = tmp_path / "upload.whl"
        source.write_bytes(b"wheel")

        def failing_fsync(fd: int) -> None:
            raise OSError("disk on fire")

        monkeypatch.setattr(local_module.os, "fsync", failing_fsync)
        with pytest.raises(OSError, match="disk on fire"):
            await storage.put_file(KEY, source, move=True)

        assert _files_under(tmp_path / "root") == []
        assert source.read_bytes() == b"wheel"

    async def test_a_blob_truncated_while_streaming_ends_early(self, tmp_path: Path) -> None:
        storage = LocalBlobStorage(tmp_path)
        await storage.put_bytes(KEY, b"0123456789")
        chunks = storage.iter_range(KEY, chunk_size=4)

        first = await anext(chunks)
        os.truncate(tmp_path / KEY, 4)
        rest = [chunk async for chunk in chunks]

        assert (first, rest) == (b"0123", [])

    async def test_relative_root_is_made_absolute(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)

        storage = LocalBlobStorage(Path("blobs"))

        assert storage.root == tmp_path / "blobs"

    async def test_never_writes_outside_root(self, tmp_path: Path) -> None:
        storage = LocalBlobStorage(tmp_path / "root")

        with pytest.raises(ValueError):
            await storage.put_bytes("../outside", b"x")

        assert _files_under(tmp_path) == []
