"""Migrations 0004 and 0005 and the objects they create outside the models (STYLE §11)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from shared import migrations
from shared.schema import Base
from shared.schema.search_document import is_search_engine_object
from tests.fixtures.database import fresh_pg_database, unique_db_name


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path, worker_id: str) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'search.sqlite3'}"
        return
    yield from fresh_pg_database(unique_db_name("wheelhouse_search_schema", worker_id))


def include_name(name: str | None, type_: str, parent_names: dict[str, str | None]) -> bool:
    """What shared/migrations/env.py gives autogenerate (env.py itself runs on import)."""
    return not is_search_engine_object(name, type_, parent_names)


async def diff_and_engine_objects(url: str) -> tuple[list, set[str]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True, "include_name": include_name}),
                Base.metadata))
            if conn.dialect.name == "sqlite":
                rows = await conn.execute(text("SELECT name FROM sqlite_master WHERE name LIKE 'search%'"))
            else:
                rows = await conn.execute(text(
                    "SELECT relname FROM pg_class WHERE relname LIKE 'search%' OR relname LIKE 'ix_search%' "
                    "UNION SELECT extname FROM pg_extension WHERE extname = 'pg_trgm' "
                    "UNION SELECT attname FROM pg_attribute WHERE attname = 'search_vector'"))
            return diff, set(rows.scalars())
    finally:
        await engine.dispose()


class TestSearchMigration:
    async def test_no_diff_beyond_the_engine_objects(self, empty_url: str) -> None:
        migrations.upgrade(empty_url)
        diff, objects = await diff_and_engine_objects(empty_url)
        assert diff == []
        assert "search_documents" in objects
        expected = {"search_fts", "search_names", "search_documents_ai", "search_documents_ad",
                    "search_documents_au"} if "sqlite" in empty_url else {
            "ix_search_documents_search_vector", "ix_search_documents_name_trgm", "pg_trgm", "search_vector",
            "ix_search_documents_classifier_tokens", "search_names", "ix_search_names_name_trgm"}
        assert expected <= objects

    async def test_downgrade_drops_everything_it_created(self, empty_url: str) -> None:
        migrations.upgrade(empty_url)
        migrations.downgrade(empty_url, "0003")
        _, objects = await diff_and_engine_objects(empty_url)
        assert objects == set()
        migrations.upgrade(empty_url)
        diff, _ = await diff_and_engine_objects(empty_url)
        assert diff == []


# Written at revision 0004 with plain SQL (0004's triggers index them), before classifier_tokens.
_ROWS_0004 = [
    ("django-ninja", "Fast Django REST framework", ["Framework :: Django :: 4.2"],
     "\nFramework\nFramework :: Django\nFramework :: Django :: 4.2\n"),
    ("djangox", "Not Django at all", ["Framework :: Djangox"], "\nFramework\nFramework :: Djangox\n"),
    ("flask", "A microframework", ["Framework :: Flask"], "\nFramework\nFramework :: Flask\n"),
]


class TestMigration0005:
    """0005 converts the documents already indexed, in SQL: no reindex is needed."""

    async def test_existing_documents_are_converted(self, empty_url: str, tmp_path: Path) -> None:
        import json
        from datetime import UTC, datetime

        from shared.config import SharedSettings
        from shared.db import Database
        from shared.search import open_search_index
        from shared.search.sql.common import classifier_token

        migrations.upgrade(empty_url, "0004")
        engine = create_async_engine(empty_url)
        try:
            async with engine.begin() as conn:
                for name, summary, classifiers, paths in _ROWS_0004:
                    await conn.execute(text(
                        "INSERT INTO search_documents (name, display_name, version, summary, keywords, description,"
                        " classifiers, classifier_paths, updated) VALUES (:name, :name, '1.0', :summary, '', '',"
                        " :classifiers, :paths, :updated)"),
                        {"name": name, "summary": summary, "classifiers": json.dumps(classifiers), "paths": paths,
                         "updated": datetime(2026, 1, 1, tzinfo=UTC)})
            migrations.upgrade(empty_url)
            async with engine.connect() as conn:
                tokens = dict((await conn.execute(text("SELECT name, classifier_tokens FROM search_documents"))).all())
        finally:
            await engine.dispose()
        # The tokens the SQL computed are those the code writes: one per path.
        for name, _, _, paths in _ROWS_0004:
            assert set(tokens[name].split()) == {classifier_token(p) for p in paths.split("\n") if p}

        db = Database.from_settings(SharedSettings(database_url=empty_url, data_dir=tmp_path), service_name="test")
        index = open_search_index(SharedSettings(database_url=empty_url, data_dir=tmp_path), db=db)
        try:
            found = await index.search("framework", classifiers=["Framework :: Django"])
            assert [h.name for h in found.hits] == ["django-ninja"]  # a parent matches, "Djangox" does not
            assert [h.name for h in (await index.search("djang")).hits][:2] == ["djangox", "django-ninja"]
            assert [h.name for h in (await index.search("flaks")).hits] == ["flask"]  # fuzzy, through the names
            await index.delete("flask")
            assert (await index.search("flaks")).hits == []
        finally:
            await index.aclose()
            await db.aclose()


class TestEngineObjectFilter:
    @pytest.mark.parametrize(("name", "type_", "parents", "skipped"), [
        ("search_fts", "table", {}, True),
        ("search_fts_data", "table", {}, True),
        ("search_names_config", "table", {}, True),
        ("search_documents", "table", {}, False),
        ("search_fts_other", "table", {}, False),
        ("search_vector", "column", {"table_name": "search_documents"}, True),
        ("search_vector", "column", {"table_name": "projects"}, False),
        ("summary", "column", {"table_name": "search_documents"}, False),
        ("ix_search_documents_name_trgm", "index", {"table_name": "search_documents"}, True),
        ("ix_search_documents_updated", "index", {"table_name": "search_documents"}, False),
    ])
    def test_skips_exactly_the_engine_objects(self, name: str, type_: str, parents: dict[str, str],
                                              skipped: bool) -> None:
        assert is_search_engine_object(name, type_, parents) is skipped
