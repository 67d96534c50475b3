"""Running one unit of work from a CLI command."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from shared import migrations
from shared.config import SharedSettings
from shared.db import Database, WriteSession
from shared.errors import AppError

T = TypeVar("T")


def run_in_transaction(settings: SharedSettings, work: Callable[[WriteSession], Awaitable[T]]) -> T | None:
    """Migrate the embedded SQLite database if needed, run ``work`` and commit; print errors for people."""
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        migrations.upgrade(settings.database_url)

    async def main() -> T:
        db = Database.from_settings(settings, service_name="cli")
        try:
            async with db.write_session() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await db.aclose()

    try:
        return asyncio.run(main())
    except AppError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return None
