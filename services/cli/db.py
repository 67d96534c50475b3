"""``wheelhouse db upgrade | downgrade REV | current | wait``."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from services.cli.settings import settings_from_args
from shared import migrations


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if args.action == "upgrade":
        migrations.upgrade(settings.database_url)
    elif args.action == "downgrade":
        migrations.downgrade(settings.database_url, args.revision)
    elif args.action == "wait":
        return _wait(settings.database_url, timeout=args.timeout, interval=args.interval)
    else:
        migrations.current(settings.database_url)
    return 0


def _wait(url: str, *, timeout: float, interval: float) -> int:
    """Until the schema is one this release runs on (a pod's init container, while the migrate
    Job runs): 0 when it is, 1 with what is wrong after ``timeout`` seconds."""
    heads = ", ".join(sorted(migrations.head_revisions()))

    async def wait() -> str | None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                found = await migrations.database_revisions(url)
                problem = f"the database is at {', '.join(sorted(found)) or 'no revision (empty)'}"
            except Exception as exc:  # noqa: BLE001 - the database may not be up yet: keep waiting
                found, problem = set(), f"the database cannot be reached ({type(exc).__name__}: {exc})"
            if migrations.schema_is_ready(found):
                return None
            if time.monotonic() >= deadline:
                return problem
            await asyncio.sleep(interval)

    problem = asyncio.run(wait())
    if problem is None:
        print(f"the database schema is ready for this release ({heads})")
        return 0
    print(f"error: {problem}; this release needs {heads}. Run `wheelhouse db upgrade` "
          "(in Kubernetes, the migrate Job).", file=sys.stderr)
    return 1
