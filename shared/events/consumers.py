"""Named, durable consumers of the journal: each with its own cursor, at-least-once delivery,
retries with back-off, and a parking place (dead letters) for an event that keeps failing.

A handler does its work and commits it itself; only then does the runner move the
consumer's cursor past the event.  A process that dies in between redelivers the
event on restart, so handlers are idempotent (a search document written again, a
purge sent again).  An event that fails ``max_attempts`` times is parked in
``dead_letters`` with its error and the cursor moves on: one poison event does not
stop the rest.  Lag — serials and seconds behind the journal — is what
``wheelhouse worker status`` shows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from sqlalchemy import func, select, update

from shared.db import Database
from shared.events.log import Event, EventSource
from shared.schema import ConsumerCursor, DeadLetter, JournalEntry

log = structlog.get_logger()

Handler = Callable[[Event], Awaitable[None]]


@dataclass(frozen=True)
class Consumer:
    name: str
    handle: Handler
    batch_size: int = 100
    max_attempts: int = 5
    backoff: float = 0.5  # seconds before the first retry; doubled each time
    max_backoff: float = 30.0


@dataclass(frozen=True)
class ConsumerStatus:
    name: str
    last_serial: int
    behind_serials: int
    behind_seconds: float  # age of the oldest event not yet consumed; 0 when caught up
    dead_letters: int


class CursorStore:
    """Cursors and dead letters in the shared database (each write its own short transaction)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def position(self, name: str) -> int:
        async with self.db.read_session() as session:
            return int(await session.scalar(select(ConsumerCursor.last_serial).where(ConsumerCursor.name == name))
                       or 0)

    async def advance(self, name: str, serial: int) -> None:
        """Move forward only (a late, slower runner of the same consumer never moves it back)."""
        async with self.db.write_session() as session:
            moved = await session.execute(
                update(ConsumerCursor).where(ConsumerCursor.name == name, ConsumerCursor.last_serial < serial)
                .values(last_serial=serial, updated=datetime.now(UTC))
            )
            if moved.rowcount == 0 and await session.get(ConsumerCursor, name) is None:
                session.add(ConsumerCursor(name=name, last_serial=serial, updated=datetime.now(UTC)))
            await session.commit()

    async def park(self, name: str, event: Event, *, attempts: int, error: str) -> None:
        async with self.db.write_session() as session:
            session.add(DeadLetter(consumer=name, serial=event.serial, attempts=attempts, error=error[:10_000],
                                   event=event.as_dict()))
            await session.commit()

    async def status(self, names: list[str] | None = None, *, now: datetime | None = None) -> list[ConsumerStatus]:
        now = now or datetime.now(UTC)
        async with self.db.read_session() as session:
            newest = int(await session.scalar(select(func.max(JournalEntry.serial))) or 0)
            cursors = {c.name: c.last_serial for c in await session.scalars(select(ConsumerCursor))}
            parked = dict((await session.execute(
                select(DeadLetter.consumer, func.count()).group_by(DeadLetter.consumer))).all())
            result = []
            for name in sorted(set(names or []) | set(cursors)):
                position = cursors.get(name, 0)
                oldest = await session.scalar(
                    select(func.min(JournalEntry.created)).where(JournalEntry.serial > position))
                seconds = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
                result.append(ConsumerStatus(name, position, max(0, newest - position), seconds,
                                             int(parked.get(name, 0))))
            return result


class ConsumerRunner:
    def __init__(self, consumer: Consumer, *, source: EventSource, cursors: CursorStore,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.consumer = consumer
        self.source = source
        self.cursors = cursors
        self._sleep = sleep

    async def run_once(self) -> int:
        """Deliver one batch after the cursor; return how many events it held."""
        position = await self.cursors.position(self.consumer.name)
        events = await self.source.read(position, limit=self.consumer.batch_size)
        for event in events:
            await self._deliver(event)
            await self.cursors.advance(self.consumer.name, event.serial)
        return len(events)

    async def run(self, stop: asyncio.Event, *, idle_wait: float = 5.0) -> None:
        """Consume until ``stop`` is set, waiting for new events when caught up."""
        while not stop.is_set():
            if await self.run_once() == 0:
                await self.source.wait(timeout=idle_wait)

    async def _deliver(self, event: Event) -> None:
        consumer, delay = self.consumer, self.consumer.backoff
        for attempt in range(1, consumer.max_attempts + 1):
            try:
                await consumer.handle(event)
                return
            except Exception as exc:  # noqa: BLE001 - any failure of a handler is retried, then parked
                log.warning("consumer_failed", consumer=consumer.name, serial=event.serial, attempt=attempt,
                            error=repr(exc))
                if attempt == consumer.max_attempts:
                    await self.cursors.park(consumer.name, event, attempts=attempt, error=repr(exc))
                    log.error("event_parked", consumer=consumer.name, serial=event.serial)
                    return
                await self._sleep(delay)
                delay = min(delay * 2, consumer.max_backoff)
