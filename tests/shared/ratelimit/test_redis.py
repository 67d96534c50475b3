"""What only the Redis limiter does: its key layout and expiry."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis, from_url

from shared.ratelimit import RateLimit, RedisRateLimiter
from shared.ratelimit.redis import DEFAULT_PREFIX, EXPIRY_SLACK_SECONDS
from tests.shared.ratelimit import REDIS_URL, delete_redis_keys

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
WINDOW_START = int(NOW.timestamp())


@pytest.fixture
def policy() -> RateLimit:
    return RateLimit(f"test-{uuid.uuid4().hex}", 3, timedelta(minutes=5))


@pytest.fixture
async def limiter(policy: RateLimit) -> AsyncIterator[RedisRateLimiter]:
    built = RedisRateLimiter(REDIS_URL)
    yield built
    await built.aclose()
    await delete_redis_keys(f"{DEFAULT_PREFIX}{policy.name}:*")


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = from_url(REDIS_URL)
    yield client
    await client.aclose()


class TestRedisRateLimiter:
    async def test_key_layout_and_expiry(self, limiter: RedisRateLimiter, policy: RateLimit, redis: Redis) -> None:
        await limiter.hit(policy, "alice", now=NOW)

        name = f"wheelhouse:ratelimit:{policy.name}:alice:{WINDOW_START}"
        assert await redis.get(name) == b"1"
        assert 300 < await redis.ttl(name) <= 300 + EXPIRY_SLACK_SECONDS

    async def test_later_hits_keep_the_expiry(
        self, limiter: RedisRateLimiter, policy: RateLimit, redis: Redis
    ) -> None:
        name = f"{DEFAULT_PREFIX}{policy.name}:alice:{WINDOW_START}"
        await limiter.hit(policy, "alice", now=NOW)
        await redis.expire(name, 1000)

        await limiter.hit(policy, "alice", now=NOW)

        assert await redis.get(name) == b"2"
        assert await redis.ttl(name) > 300 + EXPIRY_SLACK_SECONDS

    async def test_clear_covers_the_previous_window(
        self, limiter: RedisRateLimiter, policy: RateLimit, redis: Redis
    ) -> None:
        await limiter.hit(policy, "alice", now=NOW)

        await limiter.clear(policy, "alice", now=NOW + policy.window)

        assert await redis.exists(f"{DEFAULT_PREFIX}{policy.name}:alice:{WINDOW_START}") == 0

    def test_needs_the_redis_package(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(sys.modules, "redis.asyncio", None)

        with pytest.raises(RuntimeError, match="redis is not installed"):
            RedisRateLimiter(REDIS_URL)
