"""The consumer framework on the database-log adapter: durable cursors, at-least-once delivery,
retries with back-off, dead letters, lag, and waking on commit."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from shared.db import Database
from shared.events import Consumer, ConsumerRunner, CursorStore, DatabaseLog, Event, JournalAction, record_event
from shared.schema import DeadLetter


async def journal_events(db: Database, count: int, *, project: str = "demo") -> list[int]:
    serials = []
    for _ in range(count):
        async with db.write_session() as session:
            serials.append(await record_event(session, JournalAction.FILE_ADDED, project_name=project,
                                              project_id=None))
            await session.commit()
    return serials


class Recorder:
    """A handler that records what it saw; idempotent by serial, as real handlers must be."""

    def __init__(self) -> None:
        self.deliveries: list[int] = []
        self.effects: set[int] = set()

    async def __call__(self, event: Event) -> None:
        self.deliveries.append(event.serial)
        self.effects.add(event.serial)


def runner(db: Database, consumer: Consumer, *, cursors: CursorStore | None = None,
           sleeps: list[float] | None = None) -> ConsumerRunner:
    async def sleep(seconds: float) -> None:
        (sleeps if sleeps is not None else []).append(seconds)

    return ConsumerRunner(consumer, source=DatabaseLog(db), cursors=cursors or CursorStore(db), sleep=sleep)


class TestDelivery:
    async def test_events_in_order_and_the_cursor_survives_a_restart(self, app: object, db: Database) -> None:
        serials = await journal_events(db, 5)
        seen = Recorder()
        consumer = Consumer("indexer", seen, batch_size=2)
        first = runner(db, consumer)
        assert await first.run_once() == 2
        assert seen.deliveries == serials[:2]
        restarted = runner(db, consumer)  # a new process: only the cursor in the database carries over
        while await restarted.run_once():
            pass
        assert seen.deliveries == serials
        assert await CursorStore(db).position("indexer") == serials[-1]

    async def test_consumers_have_their_own_cursors(self, app: object, db: Database) -> None:
        serials = await journal_events(db, 3)
        a, b = Recorder(), Recorder()
        await runner(db, Consumer("a", a)).run_once()
        assert a.deliveries == serials and b.deliveries == []
        await runner(db, Consumer("b", b)).run_once()
        assert b.deliveries == serials

    async def test_killed_after_the_side_effect_and_before_the_ack_redelivers(
        self, app: object, db: Database
    ) -> None:
        serials = await journal_events(db, 2)
        seen = Recorder()

        class DiesAtAck(CursorStore):
            async def advance(self, name: str, serial: int) -> None:
                raise KeyboardInterrupt  # the process is killed between the handler's commit and the ack

        consumer = Consumer("purger", seen)
        with pytest.raises(KeyboardInterrupt):
            await runner(db, consumer, cursors=DiesAtAck(db)).run_once()
        assert seen.deliveries == serials[:1]
        await runner(db, consumer).run_once()
        assert seen.deliveries == [serials[0], serials[0], serials[1]]  # redelivered: at least once
        assert seen.effects == set(serials)  # the idempotent handler's effect happened once each


class TestFailures:
    async def test_a_failing_handler_is_retried_with_back_off(self, app: object, db: Database) -> None:
        [serial] = await journal_events(db, 1)
        calls: list[int] = []

        async def flaky(event: Event) -> None:
            calls.append(event.serial)
            if len(calls) < 3:
                raise ConnectionError("edge unreachable")

        sleeps: list[float] = []
        await runner(db, Consumer("flaky", flaky, backoff=0.5), sleeps=sleeps).run_once()
        assert calls == [serial] * 3 and sleeps == [0.5, 1.0]
        assert await CursorStore(db).position("flaky") == serial
        async with db.read_session() as session:
            assert list(await session.scalars(select(DeadLetter))) == []

    async def test_a_poison_event_is_parked_and_the_rest_go_on(self, app: object, db: Database) -> None:
        serials = await journal_events(db, 3)
        delivered: list[int] = []

        async def poisoned(event: Event) -> None:
            if event.serial == serials[1]:
                raise ValueError("cannot index this")
            delivered.append(event.serial)

        sleeps: list[float] = []
        await runner(db, Consumer("search", poisoned, max_attempts=4, backoff=1, max_backoff=3),
                     sleeps=sleeps).run_once()
        assert delivered == [serials[0], serials[2]]
        assert sleeps == [1, 2, 3]
        async with db.read_session() as session:
            [parked] = list(await session.scalars(select(DeadLetter)))
        assert (parked.consumer, parked.serial, parked.attempts) == ("search", serials[1], 4)
        assert "cannot index this" in parked.error and parked.event["serial"] == serials[1]
        [status] = await CursorStore(db).status(["search"])
        assert status.dead_letters == 1 and status.behind_serials == 0


class TestLag:
    async def test_serials_and_seconds_behind(self, app: object, db: Database) -> None:
        serials = await journal_events(db, 4)
        await CursorStore(db).advance("slow", serials[0])
        later = datetime.now(UTC) + timedelta(seconds=60)
        [never, slow] = await CursorStore(db).status(["slow", "never-ran"], now=later)  # sorted by name
        assert (slow.name, slow.last_serial, slow.behind_serials) == ("slow", serials[0], 3)
        assert 59 <= slow.behind_seconds <= 120
        assert (never.last_serial, never.behind_serials) == (0, 4)

    async def test_caught_up_is_zero(self, app: object, db: Database) -> None:
        serials = await journal_events(db, 2)
        await CursorStore(db).advance("fast", serials[-1])
        [fast] = await CursorStore(db).status(["fast"])
        assert (fast.behind_serials, fast.behind_seconds) == (0, 0.0)

    async def test_the_cursor_never_moves_back(self, app: object, db: Database) -> None:
        cursors = CursorStore(db)
        await cursors.advance("c", 10)
        await cursors.advance("c", 5)
        assert await cursors.position("c") == 10


class TestWaking:
    async def test_a_commit_wakes_a_waiting_consumer(self, app: object, db: Database) -> None:
        """On Postgres the wait ends on the commit's NOTIFY, long before its timeout; on SQLite it polls."""
        source = DatabaseLog(db, poll_interval=0.05)
        try:
            await source.wait(timeout=0.01)  # on Postgres: start listening before the commit
            waiting = asyncio.create_task(source.wait(timeout=60))
            await asyncio.sleep(0.05)
            await journal_events(db, 1)
            await asyncio.wait_for(waiting, 10)
        finally:
            await source.aclose()
        assert len(await source.read(0, limit=10)) == 1

    async def test_run_stops_when_asked(self, app: object, db: Database) -> None:
        serials = await journal_events(db, 2)
        seen = Recorder()
        stop = asyncio.Event()
        source = DatabaseLog(db, poll_interval=0.01)
        running = asyncio.create_task(ConsumerRunner(Consumer("loop", seen), source=source,
                                                     cursors=CursorStore(db)).run(stop, idle_wait=0.05))
        for _ in range(200):
            if seen.deliveries == serials:
                break
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(running, 10)
        await source.aclose()
        assert seen.deliveries == serials
