"""open_rate_limiter picks the implementation the settings ask for."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.config import SharedSettings
from shared.db import Database
from shared.ratelimit import DatabaseRateLimiter, NullRateLimiter, RedisRateLimiter, open_rate_limiter
from tests.shared.ratelimit import REDIS_URL


@pytest.fixture
async def unused_db(tmp_path: Path) -> AsyncIterator[Database]:
    """Engines are lazy: this database is never connected to."""
    database = Database.from_settings(SharedSettings(data_dir=tmp_path), service_name="tests")
    yield database
    await database.aclose()


class TestOpenRateLimiter:
    async def test_database_by_default(self, tmp_path: Path, unused_db: Database) -> None:
        limiter = open_rate_limiter(SharedSettings(data_dir=tmp_path), db=unused_db)

        assert isinstance(limiter, DatabaseRateLimiter)
        await limiter.aclose()

    async def test_redis_when_url_is_set(self, tmp_path: Path, unused_db: Database) -> None:
        limiter = open_rate_limiter(SharedSettings(data_dir=tmp_path, redis_url=REDIS_URL), db=unused_db)

        assert isinstance(limiter, RedisRateLimiter)
        await limiter.aclose()

    async def test_null_when_disabled(self, tmp_path: Path, unused_db: Database) -> None:
        settings = SharedSettings(data_dir=tmp_path, redis_url=REDIS_URL, rate_limits_enabled=False)

        assert isinstance(open_rate_limiter(settings, db=unused_db), NullRateLimiter)
