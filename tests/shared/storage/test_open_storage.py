from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiobotocore.session import AioSession

from shared.storage import LocalBlobStorage, MemoryBlobStorage, S3BlobStorage, open_storage
from tests.fixtures.s3 import S3Server


@pytest.fixture
def s3_options(s3_server: S3Server, s3_session: AioSession) -> dict[str, Any]:
    return {**s3_server.storage_options(), "session": s3_session}


class TestOpenStorage:
    async def test_file_url_is_local(self, tmp_path: Path) -> None:
        storage = await open_storage((tmp_path / "my files").as_uri())

        assert isinstance(storage, LocalBlobStorage)
        assert storage.root == tmp_path / "my files"

    async def test_file_url_with_localhost(self) -> None:
        storage = await open_storage("file://localhost/srv/blobs")

        assert isinstance(storage, LocalBlobStorage)
        assert storage.root == Path("/srv/blobs")

    async def test_plain_path_is_local(self, tmp_path: Path) -> None:
        storage = await open_storage(str(tmp_path), endpoint_url="http://ignored")

        assert isinstance(storage, LocalBlobStorage)
        assert storage.root == tmp_path

    async def test_memory(self) -> None:
        assert isinstance(await open_storage("memory://"), MemoryBlobStorage)

    async def test_s3_bucket_and_prefix(self, s3_options: dict[str, Any], s3_bucket: str) -> None:
        storage = await open_storage(f"s3://{s3_bucket}/wheel%20house/files/", **s3_options)
        try:
            assert isinstance(storage, S3BlobStorage)
            assert (storage.bucket, storage.prefix) == (s3_bucket, "wheel house/files")
            await storage.put_bytes("aa/bb", b"x")
            assert await storage.read_bytes("aa/bb") == b"x"
        finally:
            await storage.aclose()

    async def test_s3_bucket_only(self, s3_options: dict[str, Any], s3_bucket: str) -> None:
        storage = await open_storage(f"s3://{s3_bucket}", **s3_options)
        try:
            assert isinstance(storage, S3BlobStorage)
            assert (storage.bucket, storage.prefix) == (s3_bucket, "")
        finally:
            await storage.aclose()

    @pytest.mark.parametrize(
        "url",
        [
            "",
            "s3://",
            "s3:///prefix",
            "memory://x",
            "gs://bucket",
            "file://host/srv",
            "file://",
            "file:relative",
        ],
    )
    async def test_rejects_unsupported_urls(self, url: str) -> None:
        with pytest.raises(ValueError):
            await open_storage(url)
