"""STYLE §11: upgrade head on an empty database, no autogenerate diff, downgrade and upgrade again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from shared import migrations
from shared.schema import Base
from shared.schema.search_document import is_search_engine_object
from tests.fixtures.database import fresh_pg_database, unique_db_name


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path, worker_id: str) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    yield from fresh_pg_database(unique_db_name("wheelhouse_migrations", worker_id))


# What the migration env compares, too: the search engines' own objects (FTS5 tables, the
# generated tsvector and its indexes) are not in the models.
COMPARE = {"compare_type": True, "include_name": lambda name, kind, parent: not is_search_engine_object(name, kind, parent)}


async def schema_diff(url: str) -> list:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts=COMPARE), Base.metadata)
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
