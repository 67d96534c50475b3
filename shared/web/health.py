"""Health of a service process (STYLE §9).

``/livez`` answers while the event loop answers and checks nothing else: a
database outage must not make Kubernetes restart every pod. ``/readyz`` says
whether this process should be sent new requests: each of the service's
critical dependencies answers within ``readiness_timeout`` seconds, and the
process is not shutting down. It fails from the moment SIGTERM arrives
(``begin_draining``), before the listener closes, so that the edge's probes and
Kubernetes' endpoints stop sending traffic here while requests in flight finish.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog
from prometheus_client import Gauge
from sqlalchemy import text

from shared.db import Database
from shared.search.base import SearchIndex
from shared.storage.base import BlobStorage

log = structlog.get_logger()

READY = Gauge("wheelhouse_ready", "1 while the service would answer /readyz with 200, else 0", ["service"])

Check = Callable[[], Awaitable[object]]


class Draining:
    """Process-wide: set once the process has been told to stop (SIGTERM). The runner sets it;
    every app of the process reads it."""

    def __init__(self) -> None:
        self.active = False

    def begin(self) -> None:
        if not self.active:
            self.active = True
            log.info("draining", detail="readiness fails from now on; requests in flight are finished")

    def reset(self) -> None:
        """For tests that run several apps, one after another, in one process."""
        self.active = False


DRAINING = Draining()


@dataclass
class Readiness:
    """The checks ``/readyz`` runs for one service, by name."""

    service: str
    timeout: float = 2.0
    checks: dict[str, Check] = field(default_factory=dict)

    def add(self, name: str, check: Check) -> None:
        self.checks[name] = check

    async def evaluate(self) -> tuple[bool, dict[str, str]]:
        if DRAINING.active:
            READY.labels(self.service).set(0)
            return False, {"process": "shutting down"}
        results = await asyncio.gather(*(self._run(check) for check in self.checks.values()))
        report = dict(zip(self.checks, results, strict=True))
        ready = all(result == "ok" for result in report.values())
        READY.labels(self.service).set(1 if ready else 0)
        if not ready:
            log.warning("not_ready", checks=report)
        return ready, report

    async def _run(self, check: Check) -> str:
        try:
            async with asyncio.timeout(self.timeout):
                await check()
        except TimeoutError:
            return f"no answer within {self.timeout:g} s"
        except Exception as exc:  # noqa: BLE001 - any failure of a dependency means "not ready"
            return f"failed: {type(exc).__name__}: {str(exc)[:200]}"
        return "ok"


def database_check(db: Database) -> Check:
    async def check() -> None:
        async with db.write_engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    return check


def storage_check(storage: BlobStorage) -> Check:
    """A metadata read of a key that need not exist: proves the store answers and the credentials work."""

    async def check() -> None:
        await storage.stat("readyz")

    return check


def search_check(index: SearchIndex) -> Check:
    async def check() -> None:
        await index.search("readyz", limit=1)

    return check
