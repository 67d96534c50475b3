"""STYLE §11: upgrade head on an empty database, no autogenerate diff, downgrade and upgrade again."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from shared import migrations
from shared.schema import Base
from tests.fixtures.database import POSTGRES_ADMIN_DSN, _pg_url, _recreate_pg_database


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path, worker_id: str) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'migrations.sqlite3'}"
    name = f"wheelhouse_migrations_{worker_id}"
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _recreate_pg_database(name)).result()
    return _pg_url(POSTGRES_ADMIN_DSN, name)


async def schema_diff(url: str) -> list:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}),
                                              Base.metadata)
            )
    finally:
        await engine.dispose()


async def test_upgrade_head_matches_the_models(empty_url: str) -> None:
    migrations.upgrade(empty_url)
    assert await schema_diff(empty_url) == []


async def test_downgrade_then_upgrade_again(empty_url: str) -> None:
    migrations.upgrade(empty_url)
    migrations.downgrade(empty_url, "-1")
    assert await schema_diff(empty_url) != []  # the downgrade really removed something
    migrations.upgrade(empty_url)
    assert await schema_diff(empty_url) == []
