"""Consumer cursors and lag — the same for every adapter of the bus — in the database and as metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from prometheus_client import REGISTRY

from shared.db import Database
from shared.events import Consumer, ConsumerRunner, CursorStore, DatabaseBus, Event
from tests.shared.events.test_bus import journal_events


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


class TestLagMetrics:
    async def test_a_running_consumer_publishes_its_lag(self, app: object, db: Database) -> None:
        serials = await journal_events(db, 3)
        release = asyncio.Event()

        async def blocked(event: Event) -> None:
            await release.wait()

        def sample(metric: str) -> float | None:
            return REGISTRY.get_sample_value(metric, {"consumer": "metered"})

        bus = DatabaseBus(db, poll_interval=0.01)
        stop = asyncio.Event()
        runner = ConsumerRunner(Consumer("metered", blocked), bus=bus)
        task = asyncio.create_task(runner.run_supervised(stop, idle_wait=0.05, lag_interval=0.01))
        try:
            await wait_until(lambda: sample("wheelhouse_consumer_lag_serials") == 3)
            handled_before = REGISTRY.get_sample_value("wheelhouse_consumer_events_total",
                                                       {"consumer": "metered", "outcome": "handled"}) or 0
            release.set()
            await wait_until(lambda: sample("wheelhouse_consumer_lag_serials") == 0)
            assert sample("wheelhouse_consumer_last_serial") == serials[-1]
            assert sample("wheelhouse_consumer_lag_seconds") == 0
            assert sample("wheelhouse_consumer_dead_letters") == 0
            assert REGISTRY.get_sample_value("wheelhouse_consumer_events_total",
                                             {"consumer": "metered", "outcome": "handled"}) == handled_before + 3
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
            await bus.aclose()


async def wait_until(condition: Callable[[], bool], *, deadline: float = 10.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), deadline)
