"""Reading the journal as a stream of events: the database-log adapter of the bus.

Consumers read the journal directly (serials are handed out in commit order, so
"after my cursor" never skips an event).  Between reads they wait to be woken:
on Postgres by ``LISTEN`` on the channel ``record_event`` notifies at commit, on
SQLite by polling.  Postgres stays the source of truth: any consumer's state can
be rebuilt by replaying from serial 0.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db import Database
from shared.events.journal import NOTIFY_CHANNEL
from shared.schema import JournalEntry


@dataclass(frozen=True, slots=True)
class Event:
    serial: int
    action: str
    project: str
    version: str | None
    filename: str | None
    payload: dict[str, Any]
    actor: str | None
    created: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"serial": self.serial, "action": self.action, "project": self.project, "version": self.version,
                "filename": self.filename, "payload": self.payload, "actor": self.actor,
                "created": self.created.isoformat()}


class EventSource(Protocol):
    """Where consumers read events from, in serial order."""

    async def read(self, after: int, *, limit: int) -> list[Event]: ...

    async def wait(self, *, timeout: float) -> None:
        """Return when new events may be there, or after ``timeout`` seconds."""

    async def aclose(self) -> None: ...


class DatabaseLog:
    def __init__(self, db: Database, *, poll_interval: float = 1.0) -> None:
        self.db = db
        self.poll_interval = poll_interval
        self._woken = asyncio.Event()
        self._listener: AsyncConnection | None = None
        self._listening = db.write_engine.dialect.name == "postgresql"

    async def read(self, after: int, *, limit: int) -> list[Event]:
        async with self.db.read_session() as session:
            rows = await session.execute(
                select(JournalEntry.serial, JournalEntry.action, JournalEntry.project_name, JournalEntry.version,
                       JournalEntry.filename, JournalEntry.payload, JournalEntry.actor, JournalEntry.created)
                .where(JournalEntry.serial > after).order_by(JournalEntry.serial).limit(limit)
            )
            return [Event(*row) for row in rows]

    async def wait(self, *, timeout: float) -> None:
        if not self._listening:
            await asyncio.sleep(min(timeout, self.poll_interval))
            return
        await self._listen()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._woken.wait(), timeout)
        self._woken.clear()

    async def _listen(self) -> None:
        """One connection per process held for ``LISTEN`` (asyncpg delivers notifications to a callback)."""
        if self._listener is not None:
            return
        connection = await self.db.write_engine.connect()
        raw = await connection.get_raw_connection()
        await raw.driver_connection.add_listener(NOTIFY_CHANNEL, self._on_notify)
        self._listener = connection

    def _on_notify(self, *_args: object) -> None:
        self._woken.set()

    async def aclose(self) -> None:
        if self._listener is not None:
            raw = await self._listener.get_raw_connection()
            with contextlib.suppress(Exception):  # the connection may already be gone
                await raw.driver_connection.remove_listener(NOTIFY_CHANNEL, self._on_notify)
            await self._listener.close()
            self._listener = None
