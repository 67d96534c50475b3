"""What only the database limiter does: its rows, their cleanup, its own transactions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from shared.db import Database
from shared.ratelimit import DatabaseRateLimiter, RateLimit
from shared.schema.rate_limit import RateLimitCounter

POLICY = RateLimit("login", 3, timedelta(minutes=5))
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
LATER = NOW + 2 * POLICY.window


async def _rows(db: Database) -> list[tuple[object, ...]]:
    """(key, window_start, count, expires_at) of every counter, oldest window first."""
    counter = RateLimitCounter
    query = select(counter.key, counter.window_start, counter.count, counter.expires_at).order_by(
        counter.window_start, counter.key
    )
    async with db.read_session() as session:
        return [tuple(row) for row in (await session.execute(query)).all()]


class TestDatabaseRateLimiter:
    async def test_one_row_per_key_and_window(self, db: Database) -> None:
        limiter = DatabaseRateLimiter(db, cleanup_probability=0.0)

        for _ in range(2):
            await limiter.hit(POLICY, "alice", now=NOW + timedelta(seconds=30))
        await limiter.hit(POLICY, "alice", now=LATER)

        start = int(NOW.timestamp())
        assert await _rows(db) == [
            ("login:alice", start, 2, NOW + POLICY.window),
            ("login:alice", start + 600, 1, LATER + POLICY.window),
        ]

    async def test_long_key_fits_the_column(self, db: Database) -> None:
        await DatabaseRateLimiter(db, cleanup_probability=0.0).hit(POLICY, "x" * 1000, now=NOW)

        [(key, *_)] = await _rows(db)
        assert key.startswith("login:sha256:")
        assert len(key) <= 200

    async def test_hits_purge_ended_windows(self, db: Database) -> None:
        await DatabaseRateLimiter(db, cleanup_probability=0.0).hit(POLICY, "alice", now=NOW)

        await DatabaseRateLimiter(db, cleanup_probability=1.0).hit(POLICY, "bob", now=LATER)

        assert [row[:3] for row in await _rows(db)] == [("login:bob", int(LATER.timestamp()), 1)]

    async def test_no_purge_without_luck(self, db: Database) -> None:
        await DatabaseRateLimiter(db, cleanup_probability=0.0).hit(POLICY, "alice", now=NOW)

        await DatabaseRateLimiter(db, cleanup_probability=0.5, random=lambda: 0.5).hit(POLICY, "bob", now=LATER)

        assert len(await _rows(db)) == 2

    async def test_purge_with_luck(self, db: Database) -> None:
        await DatabaseRateLimiter(db, cleanup_probability=0.0).hit(POLICY, "alice", now=NOW)

        await DatabaseRateLimiter(db, cleanup_probability=0.5, random=lambda: 0.49).hit(POLICY, "bob", now=LATER)

        assert len(await _rows(db)) == 1

    async def test_purge_expired_keeps_current_windows(self, db: Database) -> None:
        limiter = DatabaseRateLimiter(db, cleanup_probability=0.0)
        await limiter.hit(POLICY, "alice", now=NOW)
        await limiter.hit(POLICY, "bob", now=NOW)
        await limiter.hit(POLICY, "carol", now=LATER)

        assert await limiter.purge_expired(now=LATER) == 2
        assert await limiter.purge_expired(now=LATER) == 0
        assert [row[0] for row in await _rows(db)] == ["login:carol"]

    async def test_purge_expired_defaults_to_the_clock(self, db: Database) -> None:
        limiter = DatabaseRateLimiter(db, cleanup_probability=0.0)
        await limiter.hit(POLICY, "alice", now=NOW - timedelta(days=1))

        assert await limiter.purge_expired() == 1

    @pytest.mark.parametrize("backend", ["postgres-s3"], indirect=True)
    async def test_hit_survives_the_callers_rollback(self, db: Database) -> None:
        # Postgres only: on SQLite the caller's open write transaction holds the
        # database write lock, so the hit would wait for it (see the module docstring).
        limiter = DatabaseRateLimiter(db, cleanup_probability=0.0)
        async with db.write_session() as request_session:
            request_session.add(RateLimitCounter(key="other", window_start=0, count=1, expires_at=NOW))
            await request_session.flush()
            await limiter.hit(POLICY, "alice", now=NOW)
            await request_session.rollback()

        assert [row[:3] for row in await _rows(db)] == [("login:alice", int(NOW.timestamp()), 1)]
