"""``wheelhouse worker status``: every consumer's cursor on the journal, its lag and its dead letters."""

from __future__ import annotations

import argparse
import asyncio

from services.cli.settings import settings_from_args
from shared import migrations
from shared.db import Database
from shared.events import ConsumerStatus, CursorStore


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        migrations.upgrade(settings.database_url)

    async def main() -> list[ConsumerStatus]:
        db = Database.from_settings(settings, service_name="cli")
        try:
            return await CursorStore(db).status()
        finally:
            await db.aclose()

    rows = asyncio.run(main())
    if not rows:
        print("no consumer has run yet")
        return 0
    print(f"{'consumer':<24} {'serial':>10} {'behind':>10} {'seconds':>10} {'parked':>7}")
    for row in rows:
        print(f"{row.name:<24} {row.last_serial:>10} {row.behind_serials:>10} {row.behind_seconds:>10.1f} "
              f"{row.dead_letters:>7}")
    return 0
