"""The bus's contract, run against both adapters — the database log and NATS JetStream (fed by the
relay) — on both databases: order, durable per-consumer cursors, at-least-once delivery,
retries with back-off, dead letters, waking on commit, and replay from serial 0."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack

import pytest
from sqlalchemy import select

from shared.config import ServeSettings
from shared.db import Database
from shared.events import (
    Bus,
    Consumer,
    ConsumerRunner,
    CursorStore,
    DatabaseBus,
    Event,
    JournalAction,
    record_event,
)
from shared.events.jetstream import JetStreamBus
from shared.events.relay import relay
from shared.schema import DeadLetter
from tests.fixtures.nats import NatsServer

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


BusFactory = Callable[..., Bus]


class Killed(BaseException):
    """The process dying at this point: no handler or retry catches it (KeyboardInterrupt would stop pytest)."""


@pytest.fixture(params=["database", "nats"])
async def make_bus(request: pytest.FixtureRequest, app: object, db: Database,
                   settings: ServeSettings) -> AsyncIterator[BusFactory]:
    """Builds buses of one adapter (``make_bus(cursors=...)``); on NATS the relay runs meanwhile."""
    async with AsyncExitStack() as stack:
        if request.param == "database":
            def build(*, cursors: CursorStore | None = None) -> Bus:
                return DatabaseBus(db, poll_interval=0.02, cursors=cursors)
        else:
            server: NatsServer = request.getfixturevalue("nats_server")
            nats_settings = settings.model_copy(update={"bus": "nats", "nats_url": server.url})
            runner = await stack.enter_async_context(relay(nats_settings, poll_interval=0.02))
            stop = asyncio.Event()
            task = asyncio.create_task(runner.run_supervised(stop, idle_wait=0.2, restart_delay=0.1))
            stack.push_async_callback(asyncio.wait_for, task, 10)
            stack.callback(stop.set)

            def build(*, cursors: CursorStore | None = None) -> Bus:
                return JetStreamBus(nats_settings, db, cursors=cursors)

        buses: list[Bus] = []

        def make(**options: CursorStore | None) -> Bus:
            buses.append(build(**options))
            return buses[-1]

        yield make
        for bus in buses:
            await bus.aclose()


async def consume(runner: ConsumerRunner, until: Callable[[], bool], *, deadline: float = 15.0) -> None:
    """Run batches until ``until()`` holds (events reach NATS through the relay, so not at once)."""
    async def loop() -> None:
        while not until():
            await runner.run_once(timeout=0.1)

    await asyncio.wait_for(loop(), deadline)


def runner(bus: Bus, consumer: Consumer, *, sleeps: list[float] | None = None) -> ConsumerRunner:
    async def sleep(seconds: float) -> None:
        (sleeps if sleeps is not None else []).append(seconds)

    return ConsumerRunner(consumer, bus=bus, sleep=sleep)


class TestDelivery:
    async def test_events_in_order_and_the_cursor_survives_a_restart(
        self, make_bus: BusFactory, db: Database
    ) -> None:
        serials = await journal_events(db, 5)
        seen = Recorder()
        consumer = Consumer("indexer", seen, batch_size=2)
        first = runner(make_bus(), consumer)
        await consume(first, lambda: len(seen.deliveries) >= 2)
        before = list(seen.deliveries)
        assert before == serials[:len(before)]
        await first.aclose()
        restarted = runner(make_bus(), consumer)  # a new process: only what was acknowledged carries over
        await consume(restarted, lambda: len(seen.deliveries) >= 5)
        assert seen.deliveries == serials
        assert await CursorStore(db).position("indexer") == serials[-1]

    async def test_consumers_have_their_own_cursors(self, make_bus: BusFactory, db: Database) -> None:
        serials = await journal_events(db, 3)
        a, b = Recorder(), Recorder()
        bus = make_bus()
        await consume(runner(bus, Consumer("a", a)), lambda: len(a.deliveries) >= 3)
        assert a.deliveries == serials and b.deliveries == []
        await consume(runner(bus, Consumer("b", b)), lambda: len(b.deliveries) >= 3)
        assert b.deliveries == serials

    async def test_a_new_consumer_replays_from_serial_zero(self, make_bus: BusFactory, db: Database) -> None:
        serials = await journal_events(db, 3)
        old = Recorder()
        await consume(runner(make_bus(), Consumer("old", old)), lambda: len(old.deliveries) >= 3)
        later = await journal_events(db, 2)
        rebuilt = Recorder()
        await consume(runner(make_bus(), Consumer("rebuilt", rebuilt)), lambda: len(rebuilt.deliveries) >= 5)
        assert rebuilt.deliveries == serials + later

    async def test_a_new_consumer_can_start_at_the_head(self, make_bus: BusFactory, db: Database) -> None:
        await journal_events(db, 3)
        seen = Recorder()
        tail = runner(make_bus(), Consumer("reacts-to-changes", seen, start="head"))
        assert await tail.run_once(timeout=0.3) == 0  # the history is not its business
        later = await journal_events(db, 2)
        await consume(tail, lambda: len(seen.deliveries) >= 2)
        assert seen.deliveries == later

    async def test_killed_after_the_side_effect_and_before_the_ack_redelivers(
        self, make_bus: BusFactory, db: Database
    ) -> None:
        serials = await journal_events(db, 2)
        seen = Recorder()

        class DiesAtAck(CursorStore):
            async def advance(self, name: str, serial: int) -> None:
                raise Killed  # the process is killed between the handler's commit and the ack

        consumer = Consumer("purger", seen, batch_size=1)
        dying = runner(make_bus(cursors=DiesAtAck(db)), consumer)
        with pytest.raises(Killed):
            await consume(dying, lambda: False)
        assert seen.deliveries == serials[:1]
        # No aclose: a killed process hands nothing back. JetStream would redeliver only after its ack
        # wait (minutes); the next process starts from its cursor instead.
        await consume(runner(make_bus(), consumer), lambda: len(seen.deliveries) >= 3)
        assert seen.deliveries == [serials[0], serials[0], serials[1]]  # redelivered: at least once
        assert seen.effects == set(serials)  # the idempotent handler's effect happened once each


    async def test_a_batch_is_acknowledged_with_one_cursor_write(self, make_bus: BusFactory, db: Database) -> None:
        serials = await journal_events(db, 4)
        writes: list[int] = []

        class Counting(CursorStore):
            async def advance(self, name: str, serial: int) -> None:
                writes.append(serial)
                await super().advance(name, serial)

        seen = Recorder()
        await consume(runner(make_bus(cursors=Counting(db)), Consumer("batched", seen, batch_size=10)),
                      lambda: len(seen.deliveries) >= 4)
        assert seen.deliveries == serials
        assert len(writes) < len(serials) and writes[-1] == serials[-1]


class TestFailures:
    async def test_a_failing_handler_is_retried_with_back_off(self, make_bus: BusFactory, db: Database) -> None:
        [serial] = await journal_events(db, 1)
        calls: list[int] = []

        async def flaky(event: Event) -> None:
            calls.append(event.serial)
            if len(calls) < 3:
                raise ConnectionError("edge unreachable")

        sleeps: list[float] = []
        await consume(runner(make_bus(), Consumer("flaky", flaky, backoff=0.5), sleeps=sleeps),
                      lambda: len(calls) >= 3)
        assert calls == [serial] * 3 and sleeps == [0.5, 1.0]
        assert await CursorStore(db).position("flaky") == serial
        async with db.read_session() as session:
            assert list(await session.scalars(select(DeadLetter))) == []

    async def test_a_poison_event_is_parked_and_the_rest_go_on(self, make_bus: BusFactory, db: Database) -> None:
        serials = await journal_events(db, 3)
        delivered: list[int] = []

        async def poisoned(event: Event) -> None:
            if event.serial == serials[1]:
                raise ValueError("cannot index this")
            delivered.append(event.serial)

        sleeps: list[float] = []
        await consume(runner(make_bus(), Consumer("search", poisoned, max_attempts=4, backoff=1, max_backoff=3),
                             sleeps=sleeps), lambda: len(delivered) >= 2)
        assert delivered == [serials[0], serials[2]]
        assert sleeps == [1, 2, 3]
        async with db.read_session() as session:
            rows = list(await session.scalars(select(DeadLetter)))
            [parked] = rows
        assert (parked.consumer, parked.serial, parked.attempts) == ("search", serials[1], 4)
        assert "cannot index this" in parked.error and parked.event["serial"] == serials[1]
        [status] = [s for s in await CursorStore(db).status(["search"]) if s.name == "search"]
        assert status.dead_letters == 1 and status.behind_serials == 0

    async def test_without_max_attempts_it_never_parks(self, make_bus: BusFactory, db: Database) -> None:
        [serial] = await journal_events(db, 1)
        calls: list[int] = []

        async def down_for_a_while(event: Event) -> None:
            calls.append(event.serial)
            if len(calls) < 8:
                raise ConnectionError("still down")

        sleeps: list[float] = []
        consumer = Consumer("patient", down_for_a_while, max_attempts=None, backoff=1, max_backoff=4)
        await consume(runner(make_bus(), consumer, sleeps=sleeps), lambda: len(calls) >= 8)
        assert sleeps == [1, 2, 4, 4, 4, 4, 4]
        assert await CursorStore(db).position("patient") == serial
        async with db.read_session() as session:
            assert list(await session.scalars(select(DeadLetter))) == []


class TestWaking:
    async def test_a_commit_wakes_a_waiting_consumer(self, make_bus: BusFactory, db: Database) -> None:
        """The wait ends on the commit (NOTIFY on Postgres, the relay's publish on NATS), long before
        its timeout; on SQLite's database log it polls."""
        seen = Recorder()
        waiting = runner(make_bus(), Consumer("waker", seen))
        assert await waiting.run_once() == 0  # subscribed and caught up
        task = asyncio.create_task(waiting.run_once(timeout=60))
        await asyncio.sleep(0.1)
        serials = await journal_events(db, 1)
        assert await asyncio.wait_for(task, 10) == 1
        assert seen.deliveries == serials

    async def test_run_stops_when_asked(self, make_bus: BusFactory, db: Database) -> None:
        serials = await journal_events(db, 2)
        seen = Recorder()
        stop = asyncio.Event()
        consumer = ConsumerRunner(Consumer("loop", seen), bus=make_bus())
        running = asyncio.create_task(consumer.run(stop, idle_wait=0.05))
        for _ in range(1000):
            if seen.deliveries == serials:
                break
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(running, 10)
        await consumer.aclose()
        assert seen.deliveries == serials


class TestSupervision:
    async def test_a_failing_runner_is_restarted_not_lost(self, make_bus: BusFactory, db: Database) -> None:
        serials = await journal_events(db, 2)
        seen = Recorder()
        failures: list[int] = []

        class FlakyBus(CursorStore):
            async def position(self, name: str) -> int:
                if len(failures) < 2:
                    failures.append(1)
                    raise ConnectionError("database restarting")
                return await super().position(name)

        stop = asyncio.Event()
        consumer = ConsumerRunner(Consumer("supervised", seen), bus=make_bus(cursors=FlakyBus(db)))
        task = asyncio.create_task(consumer.run_supervised(stop, idle_wait=0.05, restart_delay=0.01))
        for _ in range(1000):
            if seen.deliveries == serials:
                break
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, 10)
        await consumer.aclose()
        assert len(failures) == 2 and seen.deliveries == serials
