"""The purger: a consumer of the bus that turns each journal event into soft purges of the
Surrogate-Keys it affects, sent to every edge instance (``wheelhouse worker purger``).

Because it rides the bus, a purge is never lost when a process dies between a
commit and its purge: the event is delivered again.  It never parks an event (a
page left stale would be wrong for a day); an edge that does not acknowledge is
tried again, backing off, until it does.  Edges are a configured list, and/or a
DNS name resolved at every purge to all the edge pods behind it (a headless
Service), so pods that come and go are found.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import httpx
import structlog
from prometheus_client import Counter

from shared.config import SharedSettings
from shared.db import Database
from shared.events import Consumer, ConsumerRunner, Event, JournalAction
from shared.events.bus import open_bus
from shared.events.log import POLL_INTERVAL
from shared.web.cache import CHANGELOG_KEY, INDEX_KEY, SEARCH_KEY, project_files_key, project_key

log = structlog.get_logger()

PURGER_NAME = "purger"
PURGES = Counter("wheelhouse_edge_purges", "Purge requests sent to an edge, by outcome", ["outcome"])
PURGED_KEYS = Counter("wheelhouse_edge_purged_keys", "Surrogate keys an edge acknowledged purging")
# Changes that add, remove or hide a project change the /simple/ index itself.
INDEX_ACTIONS = frozenset({JournalAction.PROJECT_CREATED, JournalAction.PROJECT_DELETED,
                           JournalAction.PROJECT_STATUS_CHANGED})
# Changes after which a file may no longer be served.
FILE_ACTIONS = frozenset({JournalAction.FILE_DELETED, JournalAction.RELEASE_DELETED, JournalAction.PROJECT_DELETED,
                          JournalAction.PROJECT_STATUS_CHANGED})
# Changes that no cached page shows (only the changelog lists them).
UNSEEN_ACTIONS = frozenset({JournalAction.ROLE_INVITED, JournalAction.ROLE_ADDED, JournalAction.ROLE_CHANGED,
                            JournalAction.ROLE_REMOVED, JournalAction.PUBLISHER_ADDED,
                            JournalAction.PUBLISHER_REMOVED})


def keys_for(event: Event) -> list[str]:
    """The Surrogate-Keys whose cached responses ``event`` may have changed."""
    keys = [CHANGELOG_KEY]
    if event.action in UNSEEN_ACTIONS:
        return keys
    keys += [project_key(event.project), SEARCH_KEY]
    if event.action in INDEX_ACTIONS:
        keys.append(INDEX_KEY)
    if event.action in FILE_ACTIONS:
        keys.append(project_files_key(event.project))
    return keys


class EdgePurgeError(Exception):
    pass


class Purger:
    def __init__(self, *, urls: Sequence[str] = (), dns: str | None = None, port: int = 80,
                 client: httpx.AsyncClient | None = None) -> None:
        self.urls = [url.rstrip("/") for url in urls]
        self.dns, self.port = dns, port
        self.client = client or httpx.AsyncClient(timeout=5.0, trust_env=False)

    async def edges(self) -> list[str]:
        found = list(self.urls)
        if self.dns:
            infos = await asyncio.get_running_loop().getaddrinfo(self.dns, self.port, type=socket.SOCK_STREAM)
            for address in sorted({info[4][0] for info in infos}):
                host = f"[{address}]" if ":" in address else address
                found.append(f"http://{host}:{self.port}")
        return found

    async def handle(self, event: Event) -> None:
        await self.purge(keys_for(event))

    async def purge(self, keys: list[str]) -> None:
        """Soft-purge ``keys`` on every edge; raise (to be retried) unless every edge acknowledged."""
        edges = await self.edges()
        results = await asyncio.gather(*(self._purge_one(edge, keys) for edge in edges), return_exceptions=True)
        failed = [f"{edge}: {result!r}" for edge, result in zip(edges, results, strict=True) if result is not None]
        PURGES.labels("failed").inc(len(failed))
        PURGES.labels("ok").inc(len(edges) - len(failed))
        PURGED_KEYS.inc(len(keys) * (len(edges) - len(failed)))
        if failed:
            raise EdgePurgeError("; ".join(failed))

    async def _purge_one(self, edge: str, keys: list[str]) -> None:
        response = await self.client.request("PURGE", edge + "/", headers={"xkey": " ".join(keys)})
        if response.status_code != 200:
            raise EdgePurgeError(f"{response.status_code} {response.text[:200]}")

    async def aclose(self) -> None:
        await self.client.aclose()


def edges_configured(settings: SharedSettings) -> bool:
    return bool(settings.edge_purge_urls or settings.edge_purge_dns)


@asynccontextmanager
async def purger(settings: SharedSettings, *, poll_interval: float = POLL_INTERVAL) -> AsyncIterator[ConsumerRunner]:
    db = Database.from_settings(settings, service_name=PURGER_NAME)
    bus = open_bus(settings, db, poll_interval=poll_interval)
    edge = Purger(urls=settings.edge_purge_urls, dns=settings.edge_purge_dns, port=settings.edge_purge_port)
    # A new purger starts at the head: what changed before it ran is no purge of its to send.
    runner = ConsumerRunner(Consumer(PURGER_NAME, edge.handle, max_attempts=None, backoff=0.1, max_backoff=5.0,
                                     start="head"), bus=bus)
    try:
        yield runner
    finally:
        await runner.aclose()
        await bus.aclose()
        await edge.aclose()
        await db.aclose()
