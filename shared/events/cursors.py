"""Where each consumer has got to, and its parked events, in the shared database.

Both adapters of the bus keep a consumer's cursor here (the NATS one as well as
its JetStream acknowledgement), so lag is measured one way — serials and seconds
behind the journal — whatever carries the events, and a consumer can move from
one adapter to the other without handling an event twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update

from shared.db import Database
from shared.schema import ConsumerCursor, DeadLetter, JournalEntry

if TYPE_CHECKING:
    from shared.events.log import Event


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

    async def start_at_head(self, name: str) -> None:
        """A consumer that has never run starts after the journal's newest entry, not at serial 0."""
        async with self.db.write_session() as session:
            if await session.get(ConsumerCursor, name) is None:
                newest = int(await session.scalar(select(func.max(JournalEntry.serial))) or 0)
                session.add(ConsumerCursor(name=name, last_serial=newest, updated=datetime.now(UTC)))
                await session.commit()

    async def rewind(self, name: str, serial: int) -> None:
        """Put the cursor back (or anywhere): the consumer handles everything after ``serial`` again,
        from the journal, which is how its state is rebuilt. Stop the consumer first."""
        async with self.db.write_session() as session:
            cursor = await session.get(ConsumerCursor, name)
            if cursor is None:
                session.add(ConsumerCursor(name=name, last_serial=serial, updated=datetime.now(UTC)))
            else:
                cursor.last_serial, cursor.updated = serial, datetime.now(UTC)
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
