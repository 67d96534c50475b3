"""The ``search-indexer`` consumer with what it needs, for ``wheelhouse worker search-indexer``
and for the embedded default, which runs it in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from services.search.indexing import CONSUMER_NAME, Indexer
from shared.config import SharedSettings
from shared.db import Database
from shared.events import Consumer, ConsumerRunner
from shared.events.bus import open_bus
from shared.events.log import POLL_INTERVAL
from shared.search import open_search_index


@asynccontextmanager
async def search_indexer(settings: SharedSettings, *,
                         poll_interval: float = POLL_INTERVAL) -> AsyncIterator[ConsumerRunner]:
    db = Database.from_settings(settings, service_name=CONSUMER_NAME)
    index = open_search_index(settings, db=db)
    bus = open_bus(settings, db, poll_interval=poll_interval)
    runner = ConsumerRunner(Consumer(CONSUMER_NAME, Indexer(db, index).handle), bus=bus)
    try:
        yield runner
    finally:
        await runner.aclose()
        await bus.aclose()
        await index.aclose()
        await db.aclose()


@asynccontextmanager
async def indexer_for(settings: SharedSettings) -> AsyncIterator[Indexer]:
    """The indexer alone, for ``wheelhouse search reindex``."""
    db = Database.from_settings(settings, service_name=CONSUMER_NAME)
    index = open_search_index(settings, db=db)
    try:
        yield Indexer(db, index)
    finally:
        await index.aclose()
        await db.aclose()
