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
