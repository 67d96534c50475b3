"""Alembic migrations for the shared schema, run on SQLite and Postgres alike.

``upgrade(url)`` is what ``wheelhouse db upgrade``, ``wheelhouse serve`` and the
Kubernetes migration Job call.  The env holds an advisory lock on Postgres so
that two replicas starting at once never migrate concurrently.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

HERE = Path(__file__).resolve().parent


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(HERE / "versions"))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    config.attributes["database_url"] = url
    return config


def _ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite") and ":///" in url:
        path = url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def _outside_event_loop(work: Callable[[], None]) -> None:
    """The env runs its own event loop; from inside a running one, use a thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        work()
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(work).result()


def upgrade(url: str, revision: str = "head") -> None:
    _ensure_sqlite_dir(url)
    _outside_event_loop(lambda: command.upgrade(alembic_config(url), revision))


def downgrade(url: str, revision: str) -> None:
    _outside_event_loop(lambda: command.downgrade(alembic_config(url), revision))


def current(url: str) -> None:
    _outside_event_loop(lambda: command.current(alembic_config(url), verbose=False))


def head_revisions() -> set[str]:
    """The newest revisions this release knows."""
    return set(ScriptDirectory.from_config(alembic_config("")).get_heads())


async def database_revisions(url: str) -> set[str]:
    """The revisions the database is at (empty before the first migration)."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            heads = await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_heads())
    finally:
        await engine.dispose()
    return set(heads)


def schema_is_ready(database: set[str]) -> bool:
    """Whether this release can run on a database at ``database``: at this release's heads, or
    past them (a newer release migrated it; migrations keep the previous release working)."""
    if not database:
        return False
    known = {revision.revision for revision in ScriptDirectory.from_config(alembic_config("")).walk_revisions()}
    return database == head_revisions() or bool(database - known)
