"""``wheelhouse search reindex``: rebuild the search index from the database."""

from __future__ import annotations

import argparse
import asyncio
import sys

from services.cli.settings import settings_from_args
from services.search.worker import indexer_for
from shared import migrations


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        migrations.upgrade(settings.database_url)

    async def main() -> int:
        async with indexer_for(settings) as indexer:
            return await indexer.reindex()

    count = asyncio.run(main())
    print(f"indexed {count} projects", file=sys.stderr)
    return 0
