"""What only the S3 adapter does: prefixes, content types, multipart uploads."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiobotocore.session import AioSession
from botocore.exceptions import ClientError
from pydantic import SecretStr

from shared.storage import S3BlobStorage
from tests.fixtures.s3 import S3Server

MIB = 1024 * 1024
KEY = "ab/cd/ef0123/foo-1.0.tar.gz"


@pytest.fixture
def options(s3_server: S3Server, s3_session: AioSession) -> dict[str, Any]:
    return {**s3_server.storage_options(), "session": s3_session}


@pytest.fixture
async def storage(options: dict[str, Any], s3_bucket: str) -> AsyncIterator[S3BlobStorage]:
    built = await S3BlobStorage.create(
        bucket=s3_bucket,
        prefix="/packages/",
        multipart_threshold=5 * MIB,
        part_size=5 * MIB,
        **options,
    )
    yield built
    await built.aclose()


def _big_file(tmp_path: Path, size: int) -> tuple[Path, bytes]:
    data = os.urandom(size)
    path = tmp_path / "big.tar.gz"
    path.write_bytes(data)
    return path, data


class _DeniedClient:
    """Answers every call with a non-404 error, as a misconfigured bucket would."""

    def __getattr__(self, name: str) -> Any:
        async def call(**kwargs: Any) -> None:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, name)

        return call


class TestS3BlobStorage:
    async def test_objects_live_under_the_prefix(
        self, storage: S3BlobStorage, s3_bucket: str, s3_client: Any
    ) -> None:
        await storage.put_bytes(KEY, b"sdist")

        listed = s3_client.list_objects_v2(Bucket=s3_bucket)["Contents"]

        assert [item["Key"] for item in listed] == [f"packages/{KEY}"]

    async def test_content_type_is_stored(
        self, storage: S3BlobStorage, s3_bucket: str, s3_client: Any
    ) -> None:
        await storage.put_bytes(KEY, b"sdist", content_type="application/x-tar")

        head = s3_client.head_object(Bucket=s3_bucket, Key=f"packages/{KEY}")

        assert head["ContentType"] == "application/x-tar"

    async def test_large_file_goes_up_in_parts(
        self, storage: S3BlobStorage, s3_bucket: str, s3_client: Any, tmp_path: Path
    ) -> None:
        path, data = _big_file(tmp_path, 11 * MIB)

        await storage.put_file(KEY, path, content_type="application/gzip")

        head = s3_client.head_object(Bucket=s3_bucket, Key=f"packages/{KEY}")
        assert head["ETag"].strip('"').endswith("-3")
        assert head["ContentType"] == "application/gzip"
        assert await storage.read_bytes(KEY) == data

    async def test_failed_multipart_upload_is_aborted(
        self,
        storage: S3BlobStorage,
        s3_bucket: str,
        s3_client: Any,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        path, _ = _big_file(tmp_path, 11 * MIB)
        real_upload_part = storage._client.upload_part

        async def fail_second_part(**kwargs: Any) -> Any:
            if kwargs["PartNumber"] == 2:
                raise ConnectionResetError("network gone")
            return await real_upload_part(**kwargs)

        monkeypatch.setattr(storage._client, "upload_part", fail_second_part)
        with pytest.raises(ConnectionResetError):
            await storage.put_file(KEY, path)

        assert s3_client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []
        assert await storage.stat(KEY) is None

    async def test_without_prefix_keys_are_object_names(
        self, options: dict[str, Any], s3_bucket: str, s3_client: Any
    ) -> None:
        storage = await S3BlobStorage.create(bucket=s3_bucket, **options)
        try:
            await storage.put_bytes(KEY, b"sdist")
        finally:
            await storage.aclose()

        assert s3_client.get_object(Bucket=s3_bucket, Key=KEY)["Body"].read() == b"sdist"

    async def test_accepts_secret_str_credentials(self, s3_server: S3Server, s3_bucket: str) -> None:
        # Also the one test that builds its own aiobotocore session.
        options: dict[str, Any] = dict(s3_server.storage_options())
        options["access_key_id"] = SecretStr(options["access_key_id"])
        options["secret_access_key"] = SecretStr(options["secret_access_key"])
        storage = await S3BlobStorage.create(bucket=s3_bucket, **options)
        try:
            await storage.put_bytes(KEY, b"sdist")
            assert await storage.read_bytes(KEY) == b"sdist"
        finally:
            await storage.aclose()

    async def test_missing_bucket_is_not_a_missing_blob(self, options: dict[str, Any]) -> None:
        storage = await S3BlobStorage.create(bucket="no-such-bucket", **options)
        try:
            with pytest.raises(ClientError):
                await storage.read_bytes(KEY)
            with pytest.raises(ClientError):
                await anext(storage.iter_range(KEY, start=5))
        finally:
            await storage.aclose()

    async def test_other_errors_propagate_from_stat(self) -> None:
        storage = S3BlobStorage(_DeniedClient(), bucket="b")

        with pytest.raises(ClientError):
            await storage.stat(KEY)
        with pytest.raises(ClientError):
            await storage.read_bytes(KEY)

    async def test_injected_client_is_not_closed(self) -> None:
        storage = S3BlobStorage(_DeniedClient(), bucket="b")

        await storage.aclose()

    @pytest.mark.parametrize(
        "options",
        [{"part_size": 5 * MIB - 1}, {"multipart_threshold": 0}],
    )
    def test_rejects_settings_s3_would_refuse(self, options: dict[str, int]) -> None:
        with pytest.raises(ValueError):
            S3BlobStorage(_DeniedClient(), bucket="b", **options)

    async def test_part_size_grows_to_stay_within_ten_thousand_parts(
        self, storage: S3BlobStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path, data = _big_file(tmp_path, 12 * MIB)
        monkeypatch.setattr("shared.storage.s3.MAX_PARTS", 2)

        await storage.put_file(KEY, path)

        assert await storage.read_bytes(KEY) == data
