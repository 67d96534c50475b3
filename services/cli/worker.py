"""``wheelhouse worker NAME`` runs one consumer of the journal until SIGTERM or SIGINT (one per
Kubernetes Deployment); ``wheelhouse worker status`` shows every consumer's cursor, lag and dead letters;
``wheelhouse worker rewind NAME`` replays the journal to a consumer, to rebuild what it keeps."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from services.cli.settings import settings_from_args
from services.search.worker import search_indexer
from shared import migrations
from shared.db import Database
from shared.events import ConsumerStatus, CursorStore
from shared.edge.purger import purger
from shared.events.relay import relay
from shared.logging import configure_logging
from shared.metrics import serve_metrics
from shared.sentry import init_sentry

WORKERS = {"search-indexer": search_indexer, "relay": relay, "purger": purger}


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        migrations.upgrade(settings.database_url)
    if args.action == "rewind":
        return _rewind(args.consumer, args.to, settings)
    if args.action != "status":
        return _run_worker(args.action, settings)

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


def _rewind(name: str, serial: int, settings) -> int:  # noqa: ANN001
    if serial < 0:
        print("error: --to must be 0 or a journal serial", file=sys.stderr)
        return 2

    async def main() -> None:
        db = Database.from_settings(settings, service_name="cli")
        try:
            await CursorStore(db).rewind(name, serial)
        finally:
            await db.aclose()

    asyncio.run(main())
    print(f"{name} will handle every journal entry after serial {serial} when it next starts")
    return 0


def _run_worker(name: str, settings) -> int:  # noqa: ANN001
    configure_logging(service=name, log_format=settings.log_format, level=settings.log_level)
    init_sentry(settings, service=name)
    serve_metrics(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        async with WORKERS[name](settings) as runner:
            await runner.run_supervised(stop)

    asyncio.run(main())
    return 0
