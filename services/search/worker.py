"""The ``search-indexer`` consumer with what it needs, for ``wheelhouse worker search-indexer``
and for the embedded default, which runs it in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from services.search.indexing import CONSUMER_NAME, Indexer
from shared.config import SharedSettings
from shared.db import Database
from shared.events import Consumer, ConsumerRunner, CursorStore, DatabaseLog
from shared.search import open_search_index


@asynccontextmanager
async def search_indexer(settings: SharedSettings, *, poll_interval: float = 1.0) -> AsyncIterator[ConsumerRunner]:
    db = Database.from_settings(settings, service_name=CONSUMER_NAME)
    index = open_search_index(settings, db=db)
    source = DatabaseLog(db, poll_interval=poll_interval)
    try:
        indexer = Indexer(db, index)
        yield ConsumerRunner(Consumer(CONSUMER_NAME, indexer.handle), source=source, cursors=CursorStore(db))
    finally:
        await source.aclose()
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
