"""Consumer cursors and lag, the same for every adapter of the bus."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.db import Database
from shared.events import CursorStore
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
