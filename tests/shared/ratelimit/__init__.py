"""Tests of shared.ratelimit; Redis tests use database 15 of the machine's Redis."""

from __future__ import annotations

from redis.asyncio import from_url

REDIS_URL = "redis://127.0.0.1:6379/15"


async def delete_redis_keys(pattern: str) -> None:
    """Remove what a test left in Redis (its keys all match ``pattern``)."""
    client = from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=pattern)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
