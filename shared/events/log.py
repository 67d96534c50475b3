"""The bus's contract (``Bus``, ``Subscription``, ``Event``) and its database-log adapter.

A consumer subscribes by name and is given batches of events in serial order,
each until it acknowledges it: at-least-once delivery.  Two adapters keep this
contract (one suite of tests runs against both): this one, the default, and
JetStream (``shared/events/nats.py``).

The database log: consumers read the journal directly (serials are handed out in
commit order, so "after my cursor" never skips an event), and the cursor is the
consumer's row in ``consumer_cursors``.  Between reads they wait to be woken: on
Postgres by ``LISTEN`` on the channel ``record_event`` notifies at commit, on
SQLite by polling.  Postgres stays the source of truth: any consumer's state can
be rebuilt by replaying from serial 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db import Database
from shared.events.cursors import CursorStore
from shared.events.journal import NOTIFY_CHANNEL
from shared.schema import JournalEntry

# SQLite has no LISTEN: a waiting consumer reads again this often (one indexed query), which keeps
# commit-to-consumed within a fraction of a second.
POLL_INTERVAL = 0.2


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


    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        return cls(serial=int(data["serial"]), action=data["action"], project=data["project"],
                   version=data["version"], filename=data["filename"], payload=data["payload"] or {},
                   actor=data["actor"], created=datetime.fromisoformat(data["created"]))


class Subscription(Protocol):
    """One named consumer's view of the bus."""

    async def fetch(self, *, limit: int, timeout: float) -> list[Event]:
        """Up to ``limit`` events after the last acknowledged one, in serial order; when there are
        none, wait up to ``timeout`` seconds for some (0: do not wait)."""

    async def ack(self, event: Event) -> None:
        """The consumer's work for ``event`` and every event fetched before it is committed: never
        deliver them again."""

    async def aclose(self) -> None: ...


class Bus(Protocol):
    cursors: CursorStore  # positions, lag and dead letters live in the database on every adapter

    async def subscribe(self, consumer: str) -> Subscription: ...

    async def aclose(self) -> None: ...


class DatabaseLog:
    def __init__(self, db: Database, *, poll_interval: float = POLL_INTERVAL) -> None:
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

    async def arm(self) -> None:
        """Call before a read that may come back empty, so that a commit between that read and
        ``wait`` still ends the wait."""
        if self._listening:
            await self._listen()
            self._woken.clear()

    async def wait(self, *, timeout: float) -> None:
        """Return when new events may be there (after ``arm``), or after ``timeout`` seconds."""
        if not self._listening:
            await asyncio.sleep(min(timeout, self.poll_interval))
            return
        await self._listen()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._woken.wait(), timeout)

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


class DatabaseBus:
    """The default adapter: every subscription reads the journal itself."""

    def __init__(self, db: Database, *, poll_interval: float = POLL_INTERVAL,
                 cursors: CursorStore | None = None) -> None:
        self.db = db
        self.poll_interval = poll_interval
        self.cursors = cursors or CursorStore(db)
        self._subscriptions: list[DatabaseSubscription] = []

    async def subscribe(self, consumer: str) -> DatabaseSubscription:
        log = DatabaseLog(self.db, poll_interval=self.poll_interval)
        self._subscriptions.append(DatabaseSubscription(consumer, log, self.cursors))
        return self._subscriptions[-1]

    async def aclose(self) -> None:
        """Close the subscriptions' listeners; the database belongs to the caller."""
        subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            await subscription.aclose()


class DatabaseSubscription:
    def __init__(self, name: str, log: DatabaseLog, cursors: CursorStore) -> None:
        self.name = name
        self.log = log
        self.cursors = cursors

    async def fetch(self, *, limit: int, timeout: float) -> list[Event]:
        deadline = time.monotonic() + timeout
        while True:
            await self.log.arm()
            events = await self.log.read(await self.cursors.position(self.name), limit=limit)
            remaining = deadline - time.monotonic()
            if events or remaining <= 0:
                return events
            await self.log.wait(timeout=remaining)

    async def ack(self, event: Event) -> None:
        await self.cursors.advance(self.name, event.serial)

    async def aclose(self) -> None:
        await self.log.aclose()
