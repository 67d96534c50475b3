"""Blobs in an S3-compatible object store, through aiobotocore.

Build it with :meth:`S3BlobStorage.create` (once, in the lifespan) and close it
with :meth:`S3BlobStorage.aclose`. Files below ``multipart_threshold`` go up in
one ``PutObject``; larger ones as a multipart upload of ``part_size`` parts,
one part in memory at a time, aborted if anything fails. S3 itself makes every
completed write atomic.

Requests use path-style addressing and only send checksums the API requires,
which keeps MinIO, Ceph and other S3-compatible stores happy.
"""

from __future__ import annotations

import asyncio
import functools
import math
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, BinaryIO

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session
from botocore.exceptions import ClientError
from pydantic import SecretStr

from shared.storage.base import (
    DEFAULT_CHUNK_SIZE,
    BlobInfo,
    BlobNotFoundError,
    validate_key,
    validate_range,
)

MIB = 1024 * 1024
DEFAULT_MULTIPART_THRESHOLD = 16 * MIB
DEFAULT_PART_SIZE = 16 * MIB
MIN_PART_SIZE = 5 * MIB  # S3's minimum for every part but the last
MAX_PARTS = 10_000

_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})


@functools.cache
def _process_session() -> AioSession:
    return get_session()


class S3BlobStorage:
    def __init__(
        self,
        client: Any,
        *,
        bucket: str,
        prefix: str = "",
        multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD,
        part_size: int = DEFAULT_PART_SIZE,
        exit_stack: AsyncExitStack | None = None,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes")
        if multipart_threshold < 1:
            raise ValueError("multipart_threshold must be at least 1 byte")
        self._client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size
        self._exit_stack = exit_stack

    @classmethod
    async def create(
        cls,
        *,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | SecretStr | None = None,
        secret_access_key: str | SecretStr | None = None,
        multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD,
        part_size: int = DEFAULT_PART_SIZE,
        session: AioSession | None = None,
    ) -> S3BlobStorage:
        """Create the client once; :meth:`aclose` closes it.

        Clients share one aiobotocore session per process unless ``session`` is given:
        a session keeps the service models it has loaded, and loading them again costs
        about 0.4 s of CPU for every client (four in the all-in-one process).
        """
        exit_stack = AsyncExitStack()
        client = await exit_stack.enter_async_context(
            (session or _process_session()).create_client(
                "s3",
                endpoint_url=endpoint_url,
                region_name=region,
                aws_access_key_id=_reveal(access_key_id),
                aws_secret_access_key=_reveal(secret_access_key),
                config=_client_config(),
            )
        )
        return cls(
            client,
            bucket=bucket,
            prefix=prefix,
            multipart_threshold=multipart_threshold,
            part_size=part_size,
            exit_stack=exit_stack,
        )

    async def put_file(
        self, key: str, path: Path, *, content_type: str | None = None, move: bool = False
    ) -> None:
        """``move`` changes nothing: the file is uploaded and left for the caller to delete."""
        name = self._object_name(key)
        source = Path(path)
        size = (await asyncio.to_thread(source.stat)).st_size
        if size < self.multipart_threshold:
            data = await asyncio.to_thread(source.read_bytes)
            await self._put_object(name, data, content_type=content_type)
        else:
            await self._put_multipart(name, source, size=size, content_type=content_type)

    async def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        await self._put_object(self._object_name(key), data, content_type=content_type)

    async def stat(self, key: str) -> BlobInfo | None:
        name = self._object_name(key)
        try:
            response = await self._client.head_object(Bucket=self.bucket, Key=name)
        except ClientError as error:
            if _is_not_found(error):
                return None
            raise
        return BlobInfo(size=response["ContentLength"])

    async def read_bytes(self, key: str) -> bytes:
        response = await self._get_object(key)
        async with response["Body"] as body:
            return await body.read()

    async def iter_range(
        self,
        key: str,
        *,
        start: int = 0,
        end: int | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> AsyncIterator[bytes]:
        validate_range(start=start, end=end, chunk_size=chunk_size)
        try:
            response = await self._get_object(key, byte_range=_range_header(start, end))
        except ClientError as error:
            if _error_code(error) == "InvalidRange":  # start at or past the end
                return
            raise
        async with response["Body"] as body:
            async for chunk in _rechunk(body, chunk_size):
                yield chunk

    async def delete(self, key: str) -> None:
        await self._client.delete_object(Bucket=self.bucket, Key=self._object_name(key))

    async def aclose(self) -> None:
        if self._exit_stack is not None:
            await self._exit_stack.aclose()

    def _object_name(self, key: str) -> str:
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    async def _put_object(self, name: str, data: bytes, *, content_type: str | None) -> None:
        await self._client.put_object(
            Bucket=self.bucket, Key=name, Body=data, **_content_type_args(content_type)
        )

    async def _get_object(self, key: str, *, byte_range: str | None = None) -> dict[str, Any]:
        extra = {"Range": byte_range} if byte_range else {}
        try:
            return await self._client.get_object(
                Bucket=self.bucket, Key=self._object_name(key), **extra
            )
        except ClientError as error:
            if _is_not_found(error):
                raise BlobNotFoundError(key) from None
            raise

    async def _put_multipart(
        self, name: str, path: Path, *, size: int, content_type: str | None
    ) -> None:
        upload = await self._client.create_multipart_upload(
            Bucket=self.bucket, Key=name, **_content_type_args(content_type)
        )
        upload_id = upload["UploadId"]
        try:
            parts = await self._upload_parts(name, path, upload_id=upload_id, size=size)
            await self._client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=name,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            await self._client.abort_multipart_upload(
                Bucket=self.bucket, Key=name, UploadId=upload_id
            )
            raise

    async def _upload_parts(
        self, name: str, path: Path, *, upload_id: str, size: int
    ) -> list[dict[str, Any]]:
        part_size = max(self.part_size, math.ceil(size / MAX_PARTS))
        file: BinaryIO = await asyncio.to_thread(path.open, "rb")
        parts: list[dict[str, Any]] = []
        with file:
            while data := await asyncio.to_thread(file.read, part_size):
                number = len(parts) + 1
                response = await self._client.upload_part(
                    Bucket=self.bucket, Key=name, UploadId=upload_id, PartNumber=number, Body=data
                )
                parts.append({"ETag": response["ETag"], "PartNumber": number})
        return parts


async def _rechunk(body: Any, chunk_size: int) -> AsyncIterator[bytes]:
    """Re-cut the network's arbitrary pieces into ``chunk_size`` chunks."""
    buffer = bytearray()
    while piece := await body.read(chunk_size - len(buffer)):
        buffer += piece
        if len(buffer) == chunk_size:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)


def _range_header(start: int, end: int | None) -> str | None:
    if start == 0 and end is None:
        return None  # a Range on an empty object would be unsatisfiable
    return f"bytes={start}-{'' if end is None else end}"


def _content_type_args(content_type: str | None) -> dict[str, str]:
    return {"ContentType": content_type} if content_type else {}


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _is_not_found(error: ClientError) -> bool:
    return _error_code(error) in _NOT_FOUND_CODES


def _reveal(value: str | SecretStr | None) -> str | None:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def _client_config() -> AioConfig:
    return AioConfig(
        s3={"addressing_style": "path"},
        signature_version="s3v4",
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
