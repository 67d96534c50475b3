"""Benchmark what a mirror calls at its first sync: ``list_packages_with_serial`` over XML-RPC,
``changelog_since_serial``, and a page of ``/api/changelog``, on one ``python -m services.simple``.

    .venv/bin/python bench/mirror_changelog.py [--projects 100000] [--database-url postgresql+asyncpg://postgres@127.0.0.1/wheelhouse_bench]

It migrates a temporary database (SQLite in a temp dir, or a fresh Postgres database whose
name must contain "bench", dropped at the end), seeds N projects with one journal row each by
SQLAlchemy Core bulk inserts, starts the simple service, and times each call over loopback
with the standard library's ``xmlrpc.client`` (what mirror tools speak) and httpx.
Target (issue "The event bus, the search service and the changelog for mirrors"):
``list_packages_with_serial`` at 100,000 projects well under a second.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import xmlrpc.client
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    Server,
    base_env,
    cli,
    bench_database,
    ensure_venv,
    machine_facts,
    say,
    table,
    temp_dir,
)

ensure_venv()

import httpx  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from shared.schema import JournalEntry, Project  # noqa: E402

BATCH = 5000


async def bump(database_url: str, serial: int) -> None:
    """Commit one more journal row, as any change does (the cached package list is then stale)."""
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(insert(JournalEntry), [{"serial": serial, "action": "release_yanked",
                                                   "project_name": "project-000000", "payload": {},
                                                   "created": datetime.now(UTC)}])
    await engine.dispose()


async def seed(database_url: str, projects: int) -> None:
    engine = create_async_engine(database_url)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        for start in range(0, projects, BATCH):
            names = [f"project-{i:06d}" for i in range(start, min(start + BATCH, projects))]
            await conn.execute(insert(JournalEntry), [
                {"serial": start + n + 1, "action": "project_created", "project_name": name, "payload": {},
                 "created": now} for n, name in enumerate(names)])
            await conn.execute(insert(Project), [
                {"name": name, "display_name": name, "status": "active", "last_serial": start + n + 1,
                 "total_size": 0, "created": now} for n, name in enumerate(names)])
    await engine.dispose()


def timed(call, repeat: int) -> list[float]:  # noqa: ANN001
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def run(database_url: str, data_dir: Path, *, projects: int, repeat: int) -> list[tuple[str, ...]]:
    env = base_env(data_dir, database_url)
    cli(env, "db", "upgrade")
    say(f"seeding {projects:,} projects")
    asyncio.run(seed(database_url, projects))
    server = Server("services.simple", env, data_dir / "simple.log")
    server.start(probe="/livez")
    try:
        proxy = xmlrpc.client.ServerProxy(f"{server.url}/pypi")  # closed with the process
        listed = proxy.list_packages_with_serial()
        assert len(listed) == projects, len(listed)
        rows = []
        list_call = xmlrpc.client.dumps((), "list_packages_with_serial").encode()
        with httpx.Client(base_url=server.url, trust_env=False, timeout=60) as http:
            def raw_list() -> bytes:
                return http.post("/pypi", content=list_call, headers={"Content-Type": "text/xml"}).content

            body = raw_list()
            cold = []
            for n in range(repeat):
                asyncio.run(bump(database_url, projects + 1 + n))  # outside the timed span
                cold.extend(timed(raw_list, 1))
            cold.sort()
            rows.append(("list_packages_with_serial: first answer after a change", f"{statistics.median(cold) * 1000:.0f}",
                         f"{cold[-1] * 1000:.0f}"))
            for name, call in (
                ("list_packages_with_serial: answer while nothing changed", raw_list),
                ("list_packages_with_serial: parsing it with xmlrpc.client", lambda: xmlrpc.client.loads(body)),
                ("changelog_last_serial", proxy.changelog_last_serial),
                ("changelog_since_serial(1,000 events)", lambda: proxy.changelog_since_serial(max(0, projects - 1000))),
                ("GET /api/changelog?limit=1000",
                 lambda: http.get("/api/changelog?since=0&limit=1000").raise_for_status()),
            ):
                samples = sorted(timed(call, repeat))
                rows.append((name, f"{statistics.median(samples) * 1000:.0f}", f"{samples[-1] * 1000:.0f}"))
        return rows
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with temp_dir("wheelhouse-bench-mirror") as tmp:
        with bench_database(tmp, args.database_url) as url:
            rows = run(url, tmp, projects=args.projects, repeat=args.repeat)
    print()
    print(table(("fact", "value"), machine_facts(args.database_url)))
    print()
    print(f"{args.projects:,} projects, {'Postgres' if args.database_url else 'SQLite'}, {args.repeat} calls each")
    print(table(("call", "median ms", "max ms"), rows, right=(False, True, True)))


if __name__ == "__main__":
    main()
