"""The relay: the journal, published to JetStream in serial order (``wheelhouse worker relay``).

It is a consumer of the database log like any other, so it resumes from its
cursor after a restart; each entry goes out with its serial as the message id,
and the relay also skips what the stream already ends with, so an entry
published just before a crash is not appended twice.  It never parks an event:
with NATS down it retries, backing off up to ``MAX_BACKOFF``, while uploads go
on committing to the journal, and everything follows once NATS is back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from shared.config import SharedSettings
from shared.db import Database
from shared.events.consumers import Consumer, ConsumerRunner
from shared.events.jetstream import JetStreamBus
from shared.events.log import POLL_INTERVAL, DatabaseBus, Event

RELAY_NAME = "relay"
BATCH_SIZE = 500
MAX_BACKOFF = 5.0


class Relay:
    def __init__(self, jetstream: JetStreamBus) -> None:
        self.jetstream = jetstream
        self._published: int | None = None  # the stream's newest serial, read once per process

    async def publish(self, event: Event) -> None:
        if self._published is None:
            self._published = await self.jetstream.last_published_serial()
        if event.serial <= self._published:
            return
        await self.jetstream.publish(event)
        self._published = event.serial


@asynccontextmanager
async def relay(settings: SharedSettings, *,
                poll_interval: float = POLL_INTERVAL) -> AsyncIterator[ConsumerRunner]:
    db = Database.from_settings(settings, service_name=RELAY_NAME)
    jetstream = JetStreamBus(settings, db)
    runner = ConsumerRunner(
        Consumer(RELAY_NAME, Relay(jetstream).publish, batch_size=BATCH_SIZE, max_attempts=None, backoff=0.1,
                 max_backoff=MAX_BACKOFF),
        bus=DatabaseBus(db, poll_interval=poll_interval),
    )
    try:
        yield runner
    finally:
        await runner.aclose()
        await jetstream.aclose()
        await db.aclose()
