"""One contract, every counting implementation: the database on SQLite and on
Postgres, and Redis (database 15 of the machine's server)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest

from shared.db import Database
from shared.ratelimit import DatabaseRateLimiter, RateLimit, RateLimiter, RedisRateLimiter
from tests.shared.ratelimit import REDIS_URL, delete_redis_keys

POLICY = RateLimit("login", 3, timedelta(minutes=5))
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # the first second of a 5-minute window

Opener = Callable[[], RateLimiter]


@pytest.fixture
def implementation(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def open_limiter(implementation: str, db: Database) -> AsyncIterator[Opener]:
    """Builds limiters on one store: each call is a fresh instance, as after a restart."""
    prefix = f"wheelhouse:ratelimit:test-{uuid.uuid4().hex}:"
    opened: list[RateLimiter] = []

    def open_one() -> RateLimiter:
        if implementation == "database":
            limiter: RateLimiter = DatabaseRateLimiter(db, cleanup_probability=0.0)
        else:
            limiter = RedisRateLimiter(REDIS_URL, prefix=prefix)
        opened.append(limiter)
        return limiter

    yield open_one
    for limiter in opened:
        await limiter.aclose()
    if implementation == "redis":
        await delete_redis_keys(f"{prefix}*")


@pytest.fixture
def limiter(open_limiter: Opener) -> RateLimiter:
    return open_limiter()


async def _exhaust(limiter: RateLimiter, policy: RateLimit, *identifiers: str, now: datetime = NOW) -> None:
    for _ in range(policy.limit):
        assert (await limiter.hit(policy, *identifiers, now=now)).allowed


@pytest.mark.parametrize(
    ("implementation", "backend"),
    [
        pytest.param("database", "sqlite-local", id="database-sqlite"),
        pytest.param("database", "postgres-s3", id="database-postgres"),
        # Redis uses no database; `db` is in the fixture chain, so it gets the cheap one.
        pytest.param("redis", "sqlite-local", id="redis"),
    ],
    indirect=True,
)
class TestRateLimiterContract:
    async def test_implements_protocol(self, limiter: RateLimiter) -> None:
        assert isinstance(limiter, RateLimiter)

    async def test_allows_exactly_limit_hits(self, limiter: RateLimiter) -> None:
        later = NOW + timedelta(seconds=10)

        results = [await limiter.hit(POLICY, "alice", now=later) for _ in range(5)]

        assert [r.allowed for r in results] == [True, True, True, False, False]
        assert [r.remaining for r in results] == [2, 1, 0, 0, 0]
        assert {r.retry_after for r in results} == {290}

    async def test_retry_after_is_time_to_window_end(self, limiter: RateLimiter) -> None:
        first = await limiter.hit(POLICY, "alice", now=NOW)
        last = await limiter.hit(POLICY, "alice", now=NOW + timedelta(seconds=299.5))

        assert first.retry_after == 300
        assert last.retry_after == 1

    async def test_refusal_has_retry_after_within_window(self, limiter: RateLimiter) -> None:
        await _exhaust(limiter, POLICY, "alice", now=NOW + timedelta(seconds=123))

        refused = await limiter.hit(POLICY, "alice", now=NOW + timedelta(seconds=123))

        assert not refused.allowed
        assert 0 < refused.retry_after <= POLICY.window_seconds

    async def test_new_window_resets(self, limiter: RateLimiter) -> None:
        await _exhaust(limiter, POLICY, "alice")

        end_of_window = await limiter.hit(POLICY, "alice", now=NOW + timedelta(seconds=299))
        next_window = await limiter.hit(POLICY, "alice", now=NOW + POLICY.window)

        assert not end_of_window.allowed
        assert next_window.allowed
        assert next_window.remaining == 2

    async def test_keys_are_per_identifier(self, limiter: RateLimiter) -> None:
        await _exhaust(limiter, POLICY, "alice")

        assert (await limiter.hit(POLICY, "bob", now=NOW)).remaining == 2

    async def test_keys_are_per_identifier_tuple(self, limiter: RateLimiter) -> None:
        await _exhaust(limiter, POLICY, "alice", "10.0.0.1")

        assert (await limiter.hit(POLICY, "alice", now=NOW)).allowed
        assert (await limiter.hit(POLICY, "alice", "10.0.0.2", now=NOW)).allowed

    async def test_keys_are_per_policy(self, limiter: RateLimiter) -> None:
        other = RateLimit("password-reset", 3, timedelta(minutes=5))
        await _exhaust(limiter, POLICY, "alice")

        assert (await limiter.hit(other, "alice", now=NOW)).remaining == 2

    async def test_clear_resets(self, limiter: RateLimiter) -> None:
        await _exhaust(limiter, POLICY, "alice")

        await limiter.clear(POLICY, "alice", now=NOW)

        assert (await limiter.hit(POLICY, "alice", now=NOW)).remaining == 2

    async def test_clear_leaves_other_keys(self, limiter: RateLimiter) -> None:
        await _exhaust(limiter, POLICY, "alice")
        await _exhaust(limiter, POLICY, "bob")

        await limiter.clear(POLICY, "alice", now=NOW)

        assert not (await limiter.hit(POLICY, "bob", now=NOW)).allowed

    async def test_clear_of_unknown_key(self, limiter: RateLimiter) -> None:
        await limiter.clear(POLICY, "nobody", now=NOW)

        assert (await limiter.hit(POLICY, "nobody", now=NOW)).remaining == 2

    async def test_concurrent_hits(self, limiter: RateLimiter) -> None:
        policy = RateLimit("upload", 10, timedelta(minutes=1))

        results = await asyncio.gather(*(limiter.hit(policy, "alice", now=NOW) for _ in range(50)))

        allowed = [r for r in results if r.allowed]
        assert len(allowed) == 10
        assert sorted(r.remaining for r in allowed) == list(range(10))

    async def test_counters_survive_a_restart(self, limiter: RateLimiter, open_limiter: Opener) -> None:
        await _exhaust(limiter, POLICY, "alice")
        await limiter.aclose()

        restarted = open_limiter()

        assert not (await restarted.hit(POLICY, "alice", now=NOW)).allowed

    async def test_long_identifiers(self, limiter: RateLimiter) -> None:
        long_one, long_two = "x" * 500 + "1", "x" * 500 + "2"
        await _exhaust(limiter, POLICY, long_one)

        assert not (await limiter.hit(POLICY, long_one, now=NOW)).allowed
        assert (await limiter.hit(POLICY, long_two, now=NOW)).allowed
        await limiter.clear(POLICY, long_one, now=NOW)
        assert (await limiter.hit(POLICY, long_one, now=NOW)).remaining == 2

    async def test_unprintable_identifiers(self, limiter: RateLimiter) -> None:
        await _exhaust(limiter, POLICY, "alice\x00")

        assert not (await limiter.hit(POLICY, "alice\x00", now=NOW)).allowed
        assert (await limiter.hit(POLICY, "alice", now=NOW)).allowed

    async def test_now_defaults_to_the_clock(self, limiter: RateLimiter) -> None:
        result = await limiter.hit(POLICY, "alice")

        assert result.allowed
        assert 0 < result.retry_after <= POLICY.window_seconds

    async def test_naive_now_is_refused(self, limiter: RateLimiter) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            await limiter.hit(POLICY, "alice", now=datetime(2026, 11, 26, 12, 0))
