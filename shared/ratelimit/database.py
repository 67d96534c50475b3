"""Counters in the shared database (table ``rate_limit_counters``), the default.

Each hit is its own short write transaction, committed at once, so hits count
even when the request that caused them fails and rolls back.  On SQLite the
writer takes the database write lock (``BEGIN IMMEDIATE``): call ``hit`` and
``clear`` while the request's own write session holds no write transaction yet,
or the hit waits for that lock until the busy timeout.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, delete
from sqlalchemy.dialects import postgresql, sqlite

from shared.db import Database
from shared.ratelimit.base import RateLimit, RateLimitResult, Window, rate_limit_key, resolve_now, window_of
from shared.schema.rate_limit import RateLimitCounter

COUNTERS = cast(Table, RateLimitCounter.__table__)
DEFAULT_CLEANUP_PROBABILITY = 0.01
_INSERTS: dict[str, Callable[[Table], Any]] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


class DatabaseRateLimiter:
    """Fixed-window counters, one row per key and window, upserted atomically.

    Now and then (``cleanup_probability`` of the hits) a hit also deletes the
    rows of windows that have ended; ``purge_expired`` does it on demand.
    """

    def __init__(
        self,
        db: Database,
        *,
        cleanup_probability: float = DEFAULT_CLEANUP_PROBABILITY,
        random: Callable[[], float] = random.random,
    ) -> None:
        self._db = db
        self._insert = _INSERTS[db.write_engine.dialect.name]
        self._cleanup_probability = cleanup_probability
        self._random = random

    async def hit(self, policy: RateLimit, *identifiers: str, now: datetime | None = None) -> RateLimitResult:
        moment = resolve_now(now)
        window = window_of(policy, moment)
        count = await self._increment(rate_limit_key(policy, identifiers), window)
        if self._random() < self._cleanup_probability:
            await self.purge_expired(now=moment)
        return window.result(policy, count)

    async def clear(self, policy: RateLimit, *identifiers: str, now: datetime | None = None) -> None:
        """Delete the key's rows of every window (``now`` is not needed here)."""
        statement = delete(COUNTERS).where(COUNTERS.c.key == rate_limit_key(policy, identifiers))
        async with self._db.write_session() as session:
            await session.execute(statement)
            await session.commit()

    async def purge_expired(self, *, now: datetime | None = None) -> int:
        """Delete the rows of windows that ended before ``now``; returns how many."""
        statement = delete(COUNTERS).where(COUNTERS.c.expires_at < resolve_now(now))
        async with self._db.write_session() as session:
            result = cast(CursorResult[Any], await session.execute(statement))
            await session.commit()
        return result.rowcount

    async def aclose(self) -> None:
        """Nothing to close: the :class:`Database` belongs to the caller."""

    async def _increment(self, key: str, window: Window) -> int:
        async with self._db.write_session() as session:
            count = (await session.execute(self._upsert(key, window))).scalar_one()
            await session.commit()
        return int(count)

    def _upsert(self, key: str, window: Window) -> Any:
        """``INSERT ... ON CONFLICT (key, window_start) DO UPDATE SET count = count + 1 RETURNING count``."""
        row = {"key": key, "window_start": window.start, "count": 1, "expires_at": window.expires_at}
        return (
            self._insert(COUNTERS)
            .values(**row)
            .on_conflict_do_update(
                index_elements=[COUNTERS.c.key, COUNTERS.c.window_start],
                set_={"count": COUNTERS.c.count + 1},
            )
            .returning(COUNTERS.c.count)
        )
