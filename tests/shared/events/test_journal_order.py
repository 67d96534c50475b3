"""The journal's serials are handed out in commit order, so a follower that remembers
"the last serial I saw" never skips an event that committed late (issue: out-of-order commits)."""

from __future__ import annotations

import asyncio
import random

from sqlalchemy import select

from shared.db import Database
from shared.events import JournalAction, record_event
from shared.schema import JournalEntry

BLOCKED = 0.5  # long enough for an unblocked writer to have drawn its serial many times over


async def follow(db: Database, since: int) -> list[int]:
    async with db.read_session() as session:
        return list(await session.scalars(
            select(JournalEntry.serial).where(JournalEntry.serial > since).order_by(JournalEntry.serial)
        ))


class TestTwoWriters:
    async def test_a_second_writer_draws_its_serial_only_after_the_first_commits(
        self, app: object, db: Database
    ) -> None:
        first_drew = asyncio.Event()
        release_first = asyncio.Event()
        second_drew = asyncio.Event()

        async def first() -> int:
            async with db.write_session() as session:
                serial = await record_event(session, JournalAction.PROJECT_CREATED, project_name="a", project_id=None)
                first_drew.set()
                await release_first.wait()  # a slow transaction, still open
                await session.commit()
                return serial

        async def second() -> int:
            await first_drew.wait()
            async with db.write_session() as session:
                serial = await record_event(session, JournalAction.PROJECT_CREATED, project_name="b", project_id=None)
                second_drew.set()
                await session.commit()
                return serial

        writers = asyncio.gather(first(), second())
        await first_drew.wait()
        done_early = await _within(second_drew.wait(), BLOCKED)
        seen_while_first_open = await follow(db, 0)
        release_first.set()
        serial_a, serial_b = await writers
        assert not done_early, "the second writer drew a serial while the first was still open"
        assert seen_while_first_open == []
        assert serial_a < serial_b
        assert await follow(db, 0) == [serial_a, serial_b]

    async def test_a_follower_skips_nothing_while_many_writers_commit(self, app: object, db: Database) -> None:
        """Twenty writers hold their transactions open for random times; a follower polling with
        "since = last seen" must see every committed serial."""
        seen: list[int] = []
        done = asyncio.Event()

        async def writer(n: int) -> int:
            async with db.write_session() as session:
                serial = await record_event(session, JournalAction.FILE_ADDED, project_name=f"p{n}", project_id=None)
                await asyncio.sleep(random.uniform(0, 0.02))
                await session.commit()
                return serial

        async def follower() -> None:
            last = 0
            while True:
                finished = done.is_set()
                new = await follow(db, last)
                seen.extend(new)
                last = new[-1] if new else last
                if finished:
                    return
                await asyncio.sleep(0.001)

        watching = asyncio.create_task(follower())
        serials = await asyncio.gather(*(writer(n) for n in range(20)))
        done.set()
        await watching
        assert seen == sorted(serials)


async def _within(awaitable: object, seconds: float) -> bool:
    try:
        await asyncio.wait_for(awaitable, seconds)  # type: ignore[arg-type]
    except TimeoutError:
        return False
    return True
