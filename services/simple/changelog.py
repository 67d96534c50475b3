"""The changelog for mirrors: the journal in serial order, as pages, as a live stream,
and through the XML-RPC methods existing mirror tools call.

Serials are handed out in commit order (shared/events/journal.py), so following
"everything after the last serial I saw" never skips an event.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from services.simple.repository import JournalRow, SimpleRepository
from services.simple.xmlrpc import FAULT_METHOD, FAULT_PARAMS, Call, XmlRpcFault, dump_result
from shared.db import Database, ReadSession

MAX_PAGE = 1000
XMLRPC_MAX_EVENTS = 50_000  # changelog_since_serial answers at most this many, oldest first
XMLRPC_METHODS = {
    "changelog_last_serial": "it takes no parameters",
    "changelog_since_serial": "it takes one integer serial",
    "list_packages_with_serial": "it takes no parameters",
}


@dataclass(frozen=True, slots=True)
class ChangelogPage:
    events: list[JournalRow]
    last_serial: int  # the newest serial in the journal when read
    complete: bool  # as many events as asked for: this page will never change


def event_json(row: JournalRow) -> dict[str, object]:
    return {"serial": row.serial, "project": row.project, "version": row.version, "action": row.action,
            "filename": row.filename, "time": row.time.isoformat()}


class ChangelogService:
    def __init__(self, db: Database, *, poll_interval: float = 0.5, heartbeat: float = 15.0) -> None:
        self.db = db
        self.poll_interval = poll_interval
        self.heartbeat = heartbeat
        self._packages: tuple[int, bytes] | None = None  # (journal serial, encoded list_packages_with_serial)

    async def page(self, session: ReadSession, *, since: int, limit: int) -> ChangelogPage:
        repo = SimpleRepository(session)
        limit = min(limit, MAX_PAGE)
        events = await repo.journal_since(since, limit=limit)
        return ChangelogPage(events=events, last_serial=await repo.global_serial(), complete=len(events) == limit)

    async def follow(
        self, *, since: int, disconnected: Callable[[], Awaitable[bool]]
    ) -> AsyncIterator[str]:
        """Server-Sent Events from ``since`` on, live: each poll is its own short read, so no
        transaction or connection is held between polls; a comment line keeps idle streams open."""
        last, idle = since, 0.0
        while not await disconnected():
            async with self.db.read_session() as session:
                events = await SimpleRepository(session).journal_since(last, limit=MAX_PAGE)
            for row in events:
                yield f"id: {row.serial}\nevent: {row.action}\ndata: {json.dumps(event_json(row))}\n\n"
                last = row.serial
            if events:
                idle = 0.0
                continue
            if idle >= self.heartbeat:
                yield ": keep-alive\n\n"
                idle = 0.0
            await asyncio.sleep(self.poll_interval)
            idle += self.poll_interval

    # XML-RPC, as bandersnatch calls it

    async def answer(self, session: ReadSession, call: Call) -> bytes:
        """The encoded answer to one call. ``list_packages_with_serial`` (every project: megabytes at a
        public index's size) is encoded once per journal serial and reused until the journal moves."""
        if call.method == "list_packages_with_serial" and not call.params:
            serial = await SimpleRepository(session).global_serial()
            if self._packages is None or self._packages[0] != serial:
                self._packages = (serial, dump_result(await self.list_packages_with_serial(session)))
            return self._packages[1]
        return dump_result(await self.call(session, call.method, call.params))

    async def call(self, session: ReadSession, method: str, params: tuple[object, ...]) -> object:
        """Dispatch one XML-RPC call; an unknown method or wrong parameters raise a fault."""
        if method == "changelog_last_serial" and not params:
            return await self.changelog_last_serial(session)
        if method == "changelog_since_serial" and len(params) == 1 and _is_serial(params[0]):
            return await self.changelog_since_serial(session, int(params[0]))  # type: ignore[arg-type]
        if method == "list_packages_with_serial" and not params:
            return await self.list_packages_with_serial(session)
        if method in XMLRPC_METHODS:
            raise XmlRpcFault(FAULT_PARAMS, f"Wrong parameters for {method}: {XMLRPC_METHODS[method]}.")
        raise XmlRpcFault(FAULT_METHOD, f"Unknown method {method!r}; this index answers "
                          f"{', '.join(sorted(XMLRPC_METHODS))}.")

    async def changelog_last_serial(self, session: ReadSession) -> int:
        return await SimpleRepository(session).global_serial()

    async def changelog_since_serial(self, session: ReadSession, since: int) -> list[tuple[str, str, int, str, int]]:
        rows = await SimpleRepository(session).journal_since(since, limit=XMLRPC_MAX_EVENTS)
        return [(row.project, row.version or "", _unix(row.time), row.action, row.serial) for row in rows]

    async def list_packages_with_serial(self, session: ReadSession) -> dict[str, int]:
        return dict(await SimpleRepository(session).list_projects())


def _is_serial(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def _unix(moment: datetime) -> int:
    return int(moment.timestamp())
