"""Database engines and sessions for every service.

Two handle types keep reads and writes apart (STYLE §3): read-only paths take
``ReadSession``, writers take ``WriteSession``.  Both are plain
``AsyncSession`` objects at run time.  Services never commit; the route layer
commits once per request (``shared.web.routing.AutoCommitRoute``).

SQLite (the embedded default) is tuned for a small multi-process deployment:
WAL, a busy timeout, foreign keys on, and ``BEGIN IMMEDIATE`` for writers so
that a write transaction takes the write lock up front instead of failing when
it upgrades from a read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, NewType

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from shared.config import SharedSettings

WriteSession = NewType("WriteSession", AsyncSession)
ReadSession = NewType("ReadSession", AsyncSession)

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _install_sqlite_hooks(engine: AsyncEngine, *, begin: str) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN instead of the driver, so
        # that writers can say IMMEDIATE and savepoints behave.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)


def create_engine(url: str, *, service_name: str, pool_size: int = 10, writer: bool = True) -> AsyncEngine:
    """One engine per process and role, created in ``lifespan`` (STYLE §4)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _install_sqlite_hooks(engine, begin="BEGIN IMMEDIATE" if writer else "BEGIN")
        return engine
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        connect_args["server_settings"] = {"application_name": service_name}
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, connect_args=connect_args
    )


@dataclass
class Database:
    """The engines and session factories of one process."""

    write_engine: AsyncEngine
    read_engine: AsyncEngine

    def __post_init__(self) -> None:
        self._writer = async_sessionmaker(self.write_engine, expire_on_commit=False, autoflush=False)
        self._reader = async_sessionmaker(self.read_engine, expire_on_commit=False, autoflush=False)

    @classmethod
    def from_settings(cls, settings: SharedSettings, *, service_name: str) -> Database:
        size = settings.database_pool_size
        write = create_engine(settings.database_url, service_name=service_name, pool_size=size)
        read = create_engine(settings.database_url, service_name=service_name, pool_size=size, writer=False)
        return cls(write_engine=write, read_engine=read)

    @asynccontextmanager
    async def write_session(self) -> AsyncIterator[WriteSession]:
        async with self._writer() as session:
            yield WriteSession(session)

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[ReadSession]:
        async with self._reader() as session:
            yield ReadSession(session)

    async def aclose(self) -> None:
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()
