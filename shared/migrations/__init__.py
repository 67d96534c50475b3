"""Alembic migrations for the shared schema, run on SQLite and Postgres alike.

``upgrade(url)`` is what ``wheelhouse db upgrade``, ``wheelhouse serve`` and the
Kubernetes migration Job call.  The env holds an advisory lock on Postgres so
that two replicas starting at once never migrate concurrently.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

HERE = Path(__file__).resolve().parent


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("version_locations", str(HERE / "versions"))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    config.attributes["database_url"] = url
    return config


def _ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite") and ":///" in url:
        path = url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def upgrade(url: str, revision: str = "head") -> None:
    _ensure_sqlite_dir(url)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def current(url: str) -> None:
    command.current(alembic_config(url), verbose=False)


async def upgrade_async(url: str, revision: str = "head") -> None:
    """Run ``upgrade`` from inside an event loop (the env starts its own loop)."""
    await asyncio.to_thread(upgrade, url, revision)
