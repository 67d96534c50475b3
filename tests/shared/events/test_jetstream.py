"""The NATS JetStream adapter's faults, against a real ``nats-server -js``: the relay killed after
publishing and before recording it, NATS down for a while, an event lost on the way to a
consumer, and a consumer moving over from the database log."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from shared.config import ServeSettings
from shared.db import Database
from shared.events import Consumer, ConsumerRunner, CursorStore, DatabaseBus, Event, JournalAction, record_event
from shared.events.jetstream import JetStreamBus
from shared.events.relay import RELAY_NAME, Relay, relay
from tests.factories.accounts import make_user_with_token
from tests.factories.uploads import subdir, upload
from tests.fixtures.nats import NatsServer
from tests.shared.events.test_bus import Killed, Recorder, consume, journal_events
from tests.upload.validation.builders import build_wheel


@pytest.fixture
def nats_settings(settings: ServeSettings, nats_server: NatsServer) -> ServeSettings:
    return settings.model_copy(update={"bus": "nats", "nats_url": nats_server.url})


@pytest.fixture
async def jetstream(app: object, db: Database, nats_settings: ServeSettings) -> AsyncIterator[JetStreamBus]:
    bus = JetStreamBus(nats_settings, db)
    yield bus
    await bus.aclose()


async def stream_serials(bus: JetStreamBus) -> list[int]:
    """Every entry in the stream, in stream order, by its serial."""
    js = await bus.jetstream()
    state = (await js.stream_info(bus.stream)).state
    found = []
    for sequence in range(state.first_seq, state.last_seq + 1):
        message = await js.get_msg(bus.stream, seq=sequence)
        found.append(json.loads(message.data)["serial"])
    return found


async def journal_read(db: Database) -> list[Event]:
    bus = DatabaseBus(db)
    try:
        return await (await bus.subscribe("reader")).fetch(limit=100, timeout=0)
    finally:
        await bus.aclose()


async def relay_until_caught_up(settings: ServeSettings, db: Database) -> None:
    async with relay(settings, poll_interval=0.02) as runner:
        while await runner.run_once():
            pass


class TestRelay:
    async def test_publishes_the_journal_in_serial_order(
        self, jetstream: JetStreamBus, db: Database, nats_settings: ServeSettings
    ) -> None:
        serials = await journal_events(db, 5)
        await relay_until_caught_up(nats_settings, db)
        assert await stream_serials(jetstream) == serials
        assert await CursorStore(db).position(RELAY_NAME) == serials[-1]

    async def test_killed_after_publishing_and_before_recording_it(
        self, jetstream: JetStreamBus, db: Database, nats_settings: ServeSettings
    ) -> None:
        serials = await journal_events(db, 3)

        class DiesAtRecord(CursorStore):
            async def advance(self, name: str, serial: int) -> None:
                raise Killed

        dying = DatabaseBus(db, cursors=DiesAtRecord(db))
        try:
            with pytest.raises(Killed):
                await ConsumerRunner(Consumer(RELAY_NAME, Relay(jetstream).publish), bus=dying).run_once()
        finally:
            await dying.aclose()
        assert await stream_serials(jetstream) == serials  # the batch published, and not recorded
        await relay_until_caught_up(nats_settings, db)  # the next relay starts again from serial 0
        assert await stream_serials(jetstream) == serials  # once each
        seen = Recorder()
        indexer = ConsumerRunner(Consumer("indexer", seen), bus=jetstream)
        await consume(indexer, lambda: len(seen.deliveries) >= 3)
        assert await indexer.run_once(timeout=0.3) == 0
        assert seen.deliveries == serials

    async def test_the_message_id_drops_a_second_copy(self, jetstream: JetStreamBus, db: Database) -> None:
        """Even a publisher that does not check the stream first cannot append a serial twice."""
        [serial] = await journal_events(db, 1)
        [event] = await journal_read(db)
        assert await jetstream.publish(event) is False
        assert await jetstream.publish(event) is True  # JetStream says: a duplicate
        assert await stream_serials(jetstream) == [serial]

    async def test_a_new_relay_skips_what_the_stream_already_ends_with(
        self, jetstream: JetStreamBus, db: Database, nats_settings: ServeSettings
    ) -> None:
        serials = await journal_events(db, 3)
        events = await journal_read(db)
        for event in events[:2]:
            await jetstream.publish(event)
        published: list[int] = []

        class Counting(JetStreamBus):
            async def publish(self, event: Event) -> bool:
                published.append(event.serial)
                return await super().publish(event)

        counting = Counting(nats_settings, db)
        try:
            fresh = Relay(counting)
            for event in events:
                await fresh.publish(event)
        finally:
            await counting.aclose()
        assert published == serials[2:]  # the first two were not sent again (beyond any duplicate window)
        assert await stream_serials(jetstream) == serials



class TestConsumer:
    async def test_an_event_lost_on_the_way_is_not_skipped(
        self, jetstream: JetStreamBus, db: Database, nats_settings: ServeSettings
    ) -> None:
        """JetStream would redeliver a lost event only after its ack wait, behind newer ones; the
        subscription sees the gap in stream sequences and starts again from its cursor."""
        serials = await journal_events(db, 3)
        await relay_until_caught_up(nats_settings, db)
        seen = Recorder()
        runner = ConsumerRunner(Consumer("indexer", seen, batch_size=1), bus=jetstream)
        await runner.run_once(timeout=1)  # placed, and serial 1 handled
        thief = await (await jetstream.jetstream()).pull_subscribe_bind(durable="indexer", stream=jetstream.stream)
        [lost] = await thief.fetch(1, timeout=2)  # serial 2 delivered elsewhere and never acknowledged
        assert json.loads(lost.data)["serial"] == serials[1]
        await consume(runner, lambda: len(seen.deliveries) >= 3)
        assert seen.deliveries == serials

    async def test_moving_over_from_the_database_log_handles_nothing_twice(
        self, jetstream: JetStreamBus, db: Database, nats_settings: ServeSettings
    ) -> None:
        serials = await journal_events(db, 4)
        seen = Recorder()
        before = DatabaseBus(db)
        await ConsumerRunner(Consumer("indexer", seen, batch_size=2), bus=before).run_once()
        await before.aclose()
        await relay_until_caught_up(nats_settings, db)
        await consume(ConsumerRunner(Consumer("indexer", seen), bus=jetstream), lambda: len(seen.deliveries) >= 4)
        assert seen.deliveries == serials


class TestNatsDown:
    async def test_uploads_go_on_and_everything_arrives_after_it_returns(
        self, client: httpx.AsyncClient, db: Database, nats_settings: ServeSettings, nats_server: NatsServer,
        tmp_path: Path,
    ) -> None:
        token = await make_user_with_token(db, "alice")
        stop = asyncio.Event()
        seen = Recorder()
        consumer_bus = JetStreamBus(nats_settings, db)
        consumer = ConsumerRunner(Consumer("indexer", seen), bus=consumer_bus)
        async with relay(nats_settings, poll_interval=0.02) as relaying:
            tasks = [asyncio.create_task(relaying.run_supervised(stop, idle_wait=0.1, restart_delay=0.1)),
                     asyncio.create_task(consumer.run_supervised(stop, idle_wait=0.1, restart_delay=0.1))]
            try:
                early = await journal_events(db, 2)
                await wait_for(lambda: seen.deliveries == early)

                nats_server.stop()
                for version in ("1.0", "1.1"):
                    wheel = build_wheel(subdir(tmp_path, version), name="demo", version=version)
                    response = await upload(client, wheel, token=token)
                    assert response.status_code == 200, response.text  # the upload does not need NATS
                await asyncio.sleep(1.0)  # NATS stays down a while; the relay keeps retrying
                assert seen.deliveries == early

                nats_server.start()  # the same port and store: the stream survived
                everything = [e.serial for e in await journal_read(db)]
                assert len(everything) > len(early)
                await wait_for(lambda: seen.deliveries == everything, deadline=60)
            finally:
                stop.set()
                await asyncio.wait_for(asyncio.gather(*tasks), 30)
                await consumer.aclose()
                await consumer_bus.aclose()
        assert seen.deliveries == everything  # in order, once each


async def wait_for(condition: Callable[[], bool], *, deadline: float = 15.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), deadline)
