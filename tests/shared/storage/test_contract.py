"""One contract, every adapter: memory, local (tmp_path) and S3 (moto server)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path

import pytest

from shared.storage import (
    BlobInfo,
    BlobNotFoundError,
    BlobStorage,
    LocalBlobStorage,
    MemoryBlobStorage,
    S3BlobStorage,
    blob_key,
    metadata_key,
)
from tests.fixtures.s3 import S3Server

MIB = 1024 * 1024
# Small enough that an 11 MiB file goes up as three parts (5 + 5 + 1 MiB).
S3_PART_SIZE = 5 * MIB
KEY = blob_key("0123456789abcdef" * 4, "foo-1.0-py3-none-any.whl")
PAYLOAD = bytes(range(256)) * 40 + b"tail"  # 10,244 bytes


def _pattern(size: int) -> bytes:
    """Bytes whose every window differs, so a misplaced range cannot pass."""
    block = os.urandom(64 * 1024)
    return (block * (size // len(block) + 1))[:size]


async def _collect(iterator: AsyncIterator[bytes]) -> list[bytes]:
    async with aclosing(iterator) as chunks:
        return [chunk async for chunk in chunks]


def _joined(chunks: list[bytes]) -> bytes:
    return b"".join(chunks)


@pytest.fixture(params=["memory", "local", "s3"])
def adapter(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def storage(adapter: str, request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStorage]:
    if adapter == "memory":
        built: BlobStorage = MemoryBlobStorage()
    elif adapter == "local":
        built = LocalBlobStorage(tmp_path / "blobs")
    else:
        built = await _s3_storage(request)
    yield built
    await built.aclose()


async def _s3_storage(request: pytest.FixtureRequest) -> S3BlobStorage:
    # Only the s3 case asks for these, so memory/local runs never start moto.
    server: S3Server = request.getfixturevalue("s3_server")
    return await S3BlobStorage.create(
        bucket=request.getfixturevalue("s3_bucket"),
        prefix="files",
        multipart_threshold=S3_PART_SIZE,
        part_size=S3_PART_SIZE,
        session=request.getfixturevalue("s3_session"),
        **server.storage_options(),
    )


class TestBlobStorageContract:
    async def test_implements_protocol(self, storage: BlobStorage) -> None:
        assert isinstance(storage, BlobStorage)

    async def test_put_bytes_then_stat_and_read(self, storage: BlobStorage) -> None:
        await storage.put_bytes(KEY, PAYLOAD, content_type="application/zip")

        assert await storage.stat(KEY) == BlobInfo(size=len(PAYLOAD))
        assert await storage.read_bytes(KEY) == PAYLOAD

    async def test_put_file_then_read(self, storage: BlobStorage, tmp_path: Path) -> None:
        source = tmp_path / "upload.whl"
        source.write_bytes(PAYLOAD)

        await storage.put_file(KEY, source, content_type="application/zip")

        assert await storage.read_bytes(KEY) == PAYLOAD

    async def test_empty_blob(self, storage: BlobStorage) -> None:
        await storage.put_bytes(KEY, b"")

        assert await storage.stat(KEY) == BlobInfo(size=0)
        assert await storage.read_bytes(KEY) == b""
        assert await _collect(storage.iter_range(KEY)) == []

    async def test_empty_file(self, storage: BlobStorage, tmp_path: Path) -> None:
        source = tmp_path / "empty"
        source.write_bytes(b"")

        await storage.put_file(KEY, source)

        assert await storage.stat(KEY) == BlobInfo(size=0)

    async def test_metadata_sits_beside_its_file(self, storage: BlobStorage) -> None:
        await storage.put_bytes(KEY, PAYLOAD)
        await storage.put_bytes(metadata_key(KEY), b"Metadata-Version: 2.1\n")

        assert await storage.read_bytes(KEY) == PAYLOAD
        assert await storage.read_bytes(metadata_key(KEY)) == b"Metadata-Version: 2.1\n"

    async def test_same_bytes_again_is_idempotent(self, storage: BlobStorage, tmp_path: Path) -> None:
        source = tmp_path / "upload.whl"
        source.write_bytes(PAYLOAD)

        await storage.put_file(KEY, source)
        await storage.put_file(KEY, source)
        await storage.put_bytes(KEY, PAYLOAD)

        assert await storage.read_bytes(KEY) == PAYLOAD

    @pytest.mark.parametrize("size", [len(PAYLOAD), 2 * S3_PART_SIZE + 17])
    async def test_put_file_move_stores_the_bytes(self, storage: BlobStorage, tmp_path: Path, size: int) -> None:
        # On S3 the larger size is a multipart upload; locally, tmp_path is on the root's filesystem.
        data = PAYLOAD if size == len(PAYLOAD) else _pattern(size)
        source = tmp_path / "spooled.whl"
        source.write_bytes(data)

        await storage.put_file(KEY, source, content_type="application/zip", move=True)
        source.unlink(missing_ok=True)  # what the caller does: the file is gone or is the caller's to delete

        assert await storage.stat(KEY) == BlobInfo(size=size)
        assert await storage.read_bytes(KEY) == data

    async def test_put_file_move_onto_an_existing_blob_keeps_it(self, storage: BlobStorage, tmp_path: Path) -> None:
        await storage.put_bytes(KEY, PAYLOAD)
        source = tmp_path / "spooled.whl"
        source.write_bytes(PAYLOAD)

        await storage.put_file(KEY, source, move=True)

        assert await storage.read_bytes(KEY) == PAYLOAD
        assert source.read_bytes() == PAYLOAD  # left untouched, for the caller to delete
        source.unlink()
        assert await storage.read_bytes(KEY) == PAYLOAD

    async def test_put_file_move_twice_is_idempotent(self, storage: BlobStorage, tmp_path: Path) -> None:
        for name in ("first.whl", "second.whl"):
            source = tmp_path / name
            source.write_bytes(PAYLOAD)
            await storage.put_file(KEY, source, move=True)
            source.unlink(missing_ok=True)

        assert await storage.read_bytes(KEY) == PAYLOAD

    async def test_iter_range_full(self, storage: BlobStorage) -> None:
        await storage.put_bytes(KEY, PAYLOAD)

        chunks = await _collect(storage.iter_range(KEY, chunk_size=4096))

        assert [len(chunk) for chunk in chunks] == [4096, 4096, len(PAYLOAD) - 8192]
        assert _joined(chunks) == PAYLOAD

    async def test_iter_range_default_chunk_size(self, storage: BlobStorage) -> None:
        await storage.put_bytes(KEY, PAYLOAD)

        assert await _collect(storage.iter_range(KEY)) == [PAYLOAD]

    async def test_iter_range_start_only(self, storage: BlobStorage) -> None:
        await storage.put_bytes(KEY, PAYLOAD)

        chunks = await _collect(storage.iter_range(KEY, start=1000))

        assert _joined(chunks) == PAYLOAD[1000:]

    async def test_iter_range_start_and_end_inclusive(self, storage: BlobStorage) -> None:
        await storage.put_bytes(KEY, PAYLOAD)

        chunks = await _collect(storage.iter_range(KEY, start=10, end=19))

        assert _joined(chunks) == PAYLOAD[10:20]

    async def test_iter_range_first_byte(self, storage: BlobStorage) -> None:
        await storage.put_bytes(KEY, PAYLOAD)

        assert await _collect(storage.iter_range(KEY, start=0, end=0)) == [PAYLOAD[:1]]

    async def test_iter_range_last_byte(self, storage: BlobStorage) -> None:
        await storage.put_bytes(KEY, PAYLOAD)
        last = len(PAYLOAD) - 1

        assert await _collect(storage.iter_range(KEY, start=last, end=last)) == [b"l"]
        assert await _collect(storage.iter_range(KEY, start=last)) == [b"l"]

    async def test_iter_range_spanning_chunk_boundaries(self, storage: BlobStorage) -> None:
        await storage.put_bytes(KEY, PAYLOAD)

        chunks = await _collect(storage.iter_range(KEY, start=1000, end=5000, chunk_size=1024))

        assert [len(chunk) for chunk in chunks] == [1024, 1024, 1024, 929]
        assert _joined(chunks) == PAYLOAD[1000:5001]

    async def test_iter_range_end_past_size_is_clamped(self, storage: BlobStorage) -> None:
        await storage.put_bytes(KEY, PAYLOAD)

        chunks = await _collect(storage.iter_range(KEY, start=10_000, end=10**9))

        assert _joined(chunks) == PAYLOAD[10_000:]

    async def test_iter_range_start_past_size_yields_nothing(self, storage: BlobStorage) -> None:
        await storage.put_bytes(KEY, PAYLOAD)

        assert await _collect(storage.iter_range(KEY, start=len(PAYLOAD))) == []
        assert await _collect(storage.iter_range(KEY, start=len(PAYLOAD) + 5, end=10**6)) == []

    async def test_iter_range_stopped_early(self, storage: BlobStorage) -> None:
        await storage.put_bytes(KEY, PAYLOAD)

        async with aclosing(storage.iter_range(KEY, chunk_size=100)) as chunks:
            first = await anext(chunks)

        assert first == PAYLOAD[:100]

    @pytest.mark.parametrize(
        ("start", "end", "chunk_size"),
        [(-1, None, 10), (5, 4, 10), (0, None, 0)],
    )
    async def test_iter_range_rejects_bad_ranges(
        self, storage: BlobStorage, start: int, end: int | None, chunk_size: int
    ) -> None:
        await storage.put_bytes(KEY, PAYLOAD)

        with pytest.raises(ValueError):
            await _collect(storage.iter_range(KEY, start=start, end=end, chunk_size=chunk_size))

    async def test_large_file_round_trips(self, storage: BlobStorage, tmp_path: Path) -> None:
        # On S3 this is a three-part multipart upload (see S3_PART_SIZE).
        data = _pattern(2 * S3_PART_SIZE + MIB + 17)
        source = tmp_path / "big.tar.gz"
        source.write_bytes(data)

        await storage.put_file(KEY, source)

        assert await storage.stat(KEY) == BlobInfo(size=len(data))
        boundary = S3_PART_SIZE
        window = await _collect(storage.iter_range(KEY, start=boundary - 10, end=boundary + 9))
        assert _joined(window) == data[boundary - 10 : boundary + 10]
        assert _joined(await _collect(storage.iter_range(KEY, chunk_size=MIB))) == data

    @pytest.mark.parametrize("move", [False, True])
    async def test_reader_never_sees_a_partial_blob(self, storage: BlobStorage, tmp_path: Path, move: bool) -> None:
        data = _pattern(4 * MIB)
        source = tmp_path / "big.whl"
        source.write_bytes(data)

        writer = asyncio.create_task(storage.put_file(KEY, source, move=move))
        seen: set[int | None] = set()
        while not writer.done():
            info = await storage.stat(KEY)
            seen.add(None if info is None else info.size)
            await asyncio.sleep(0)
        await writer

        assert seen <= {None, len(data)}
        assert await storage.read_bytes(KEY) == data

    @pytest.mark.parametrize("move", [False, True])
    async def test_failed_put_leaves_nothing(self, storage: BlobStorage, tmp_path: Path, move: bool) -> None:
        with pytest.raises(FileNotFoundError):
            await storage.put_file(KEY, tmp_path / "does-not-exist", move=move)

        assert await storage.stat(KEY) is None

    async def test_delete(self, storage: BlobStorage) -> None:
        await storage.put_bytes(KEY, PAYLOAD)

        await storage.delete(KEY)

        assert await storage.stat(KEY) is None
        with pytest.raises(BlobNotFoundError):
            await storage.read_bytes(KEY)

    async def test_delete_missing_is_fine(self, storage: BlobStorage) -> None:
        await storage.delete(KEY)

        assert await storage.stat(KEY) is None

    async def test_missing_key(self, storage: BlobStorage) -> None:
        assert await storage.stat(KEY) is None
        with pytest.raises(BlobNotFoundError) as raised:
            await storage.read_bytes(KEY)
        assert raised.value.key == KEY

    async def test_missing_key_raises_before_yielding(self, storage: BlobStorage) -> None:
        chunks = storage.iter_range(KEY, start=3)

        with pytest.raises(BlobNotFoundError):
            await anext(chunks)

    async def test_a_key_prefix_is_not_a_blob(self, storage: BlobStorage) -> None:
        await storage.put_bytes("aa/bb/cc", PAYLOAD)

        assert await storage.stat("aa/bb") is None
        with pytest.raises(BlobNotFoundError):
            await storage.read_bytes("aa/bb")
        with pytest.raises(BlobNotFoundError):
            await _collect(storage.iter_range("aa/bb"))

    async def test_a_path_below_a_blob_is_missing(self, storage: BlobStorage) -> None:
        await storage.put_bytes("aa/bb", PAYLOAD)

        assert await storage.stat("aa/bb/cc") is None
        with pytest.raises(BlobNotFoundError):
            await storage.read_bytes("aa/bb/cc")

    @pytest.mark.parametrize(
        "key",
        ["", "/etc/passwd", "../escape", "aa/../../escape", "aa/./bb", "aa//bb", "aa/", "aa\\bb", "aa\x00"],
    )
    async def test_rejects_unsafe_keys(self, storage: BlobStorage, key: str, tmp_path: Path) -> None:
        source = tmp_path / "upload"
        source.write_bytes(PAYLOAD)

        with pytest.raises(ValueError):
            await storage.put_bytes(key, PAYLOAD)
        with pytest.raises(ValueError):
            await storage.put_file(key, source)
        with pytest.raises(ValueError):
            await storage.put_file(key, source, move=True)
        assert source.read_bytes() == PAYLOAD  # refused before anything was moved
        with pytest.raises(ValueError):
            await storage.stat(key)
        with pytest.raises(ValueError):
            await storage.read_bytes(key)
        with pytest.raises(ValueError):
            await _collect(storage.iter_range(key))
        with pytest.raises(ValueError):
            await storage.delete(key)

    async def test_aclose_twice_is_fine(self, storage: BlobStorage) -> None:
        await storage.aclose()
