"""Benchmark search on an index of N projects (default 100,000) on the SQL backends, in-process.

    .venv/bin/python bench/search.py [--projects 100000] [--database-url postgresql+asyncpg://postgres@127.0.0.1/wheelhouse_bench_search]

It migrates a temporary database (SQLite in a temp dir, or a fresh Postgres database whose
name must contain "bench", dropped at the end), fills the index through ``SearchIndex.rebuild``
with synthetic projects (names from a word list, summaries, keywords, a short description,
classifiers), VACUUM ANALYZEs its tables on Postgres (as autovacuum soon would), then times
``SearchIndex.search`` for a mix of queries: exact names, prefixes, typos, summary words, a
classifier filter, and a sort by date. The index's own cost, without HTTP. Target (issue "The
event bus, the search service and the changelog for mirrors"): p99 under 100 ms at 100,000
projects. A second table, not part of the target, times the last page the API serves (results
9,981-10,000). About 1.5 minutes on SQLite, 2 on Postgres.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    CpuMeter,
    bench_database,
    ensure_venv,
    machine_facts,
    percentile,
    say,
    table,
    temp_dir,
)

ensure_venv()

from sqlalchemy import event, text  # noqa: E402

from shared import migrations  # noqa: E402
from shared.config import SharedSettings  # noqa: E402
from shared.db import Database  # noqa: E402
from shared.search import SearchDocument, SearchIndex, open_search_index  # noqa: E402

WORDS = ("http json async web data cloud test tools client server fast simple django flask numpy plot "
         "parse yaml toml image audio video crypto auth cache queue graph stream schema model sql orm "
         "config logging metrics trace retry build pack lint format docs cli shell git api sdk").split()
CLASSIFIERS = ("Framework :: Django :: 4.2", "Framework :: Flask", "Programming Language :: Python :: 3",
               "Topic :: Internet :: WWW/HTTP", "Topic :: Scientific/Engineering", "License :: OSI Approved")


def name_of(i: int) -> str:
    rng = random.Random(i)
    return f"{rng.choice(WORDS)}-{rng.choice(WORDS)}-{i}"


async def documents(count: int) -> AsyncIterator[SearchDocument]:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    for i in range(count):
        rng = random.Random(i)
        words = rng.sample(WORDS, 6)
        yield SearchDocument(
            name=name_of(i), display_name=name_of(i), version=f"{rng.randint(0, 9)}.{rng.randint(0, 30)}",
            summary=f"A {words[0]} library for {words[1]} and {words[2]}", keywords=" ".join(words[3:]),
            description=" ".join(rng.choice(WORDS) for _ in range(60)),
            classifiers=tuple(rng.sample(CLASSIFIERS, 2)), updated=start + timedelta(minutes=i),
        )


def queries(count: int) -> list[tuple[str, dict]]:
    rng = random.Random(7)
    mix = []
    for n in range(200):
        i = rng.randrange(count)
        name = name_of(i)
        kind = n % 6
        if kind == 0:
            mix.append(("exact name", {"query": name}))
        elif kind == 1:
            mix.append(("name prefix", {"query": name.split("-")[0] + "-" + name.split("-")[1][:3]}))
        elif kind == 2:
            word = rng.choice(WORDS)
            mix.append(("typo", {"query": word[:-1] + "x" + "lib"}))
        elif kind == 3:
            mix.append(("summary words", {"query": f"{rng.choice(WORDS)} {rng.choice(WORDS)}"}))
        elif kind == 4:
            mix.append(("word + classifier", {"query": rng.choice(WORDS), "classifiers": ["Framework :: Django"]}))
        else:
            mix.append(("word, newest first", {"query": rng.choice(WORDS), "sort": "-updated"}))
    return mix


async def timed(index: SearchIndex, mix: list[tuple[str, dict]], *, offset: int = 0) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {}
    for _ in range(2):  # the first pass warms the caches; both count
        for kind, params in mix:
            started = time.perf_counter()
            await index.search(params["query"], classifiers=params.get("classifiers", ()),
                               sort=params.get("sort", "relevance"), offset=offset, limit=20)
            timings.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
    return timings


def summary(timings: dict[str, list[float]], *, everything: bool) -> list[tuple[str, ...]]:
    rows = [(kind, str(len(s)), f"{percentile(sorted(s), 50):.1f}", f"{percentile(sorted(s), 99):.1f}")
            for kind, s in timings.items()]
    if everything:
        samples = sorted(t for s in timings.values() for t in s)
        rows.append(("all", str(len(samples)), f"{percentile(samples, 50):.1f}", f"{percentile(samples, 99):.1f}"))
    return rows


async def run(database_url: str, *, projects: int, pragmas: list[str]) -> tuple[list, list, list]:
    settings = SharedSettings(database_url=database_url, data_dir=Path("/tmp"))
    db = Database.from_settings(settings, service_name="bench")
    for engine in {db.write_engine, db.read_engine}:  # what-ifs: settings shared/db.py does not make
        event.listen(engine.sync_engine, "connect",
                     lambda conn, _record: [conn.execute(f"PRAGMA {pragma}") for pragma in pragmas])
    index = open_search_index(settings, db=db)
    try:
        say(f"indexing {projects:,} projects")
        started = time.perf_counter()
        await index.rebuild(documents(projects))
        if db.write_engine.dialect.name == "postgresql":  # what autovacuum does soon after a reindex
            async with db.write_engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("VACUUM ANALYZE search_documents, search_names"))
        say(f"indexed in {time.perf_counter() - started:.0f} s")
        meter = CpuMeter()
        rows = summary(await timed(index, queries(projects)), everything=True)
        say("timing the last page")
        deep = [(kind, params) for kind, params in queries(projects)[:60] if kind != "exact name"]
        deep_rows = summary(await timed(index, deep, offset=9_980), everything=False)
        return rows, deep_rows, meter.facts() + [("", meter.warning().strip())]
    finally:
        await index.aclose()
        await db.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--sqlite-pragma", action="append", default=[], metavar="NAME=VALUE",
                        help="run PRAGMA NAME=VALUE on each SQLite connection (a what-if, e.g. cache_size=-65536)")
    args = parser.parse_args()
    with temp_dir("wheelhouse-bench-search") as tmp:
        with bench_database(tmp, args.database_url) as url:
            migrations.upgrade(url)
            rows, deep_rows, load = asyncio.run(run(url, projects=args.projects, pragmas=args.sqlite_pragma))
            facts = machine_facts(args.database_url)  # while the database still exists
    print()
    print(table(("fact", "value"), facts + [fact for fact in load if fact[1]]))
    print()
    pragmas = "".join(f", PRAGMA {pragma}" for pragma in args.sqlite_pragma)
    print(f"{args.projects:,} projects, {'Postgres' if args.database_url else 'SQLite'}{pragmas}, 20 results a query")
    print(table(("query", "n", "p50 ms", "p99 ms"), rows, right=(False, True, True, True)))
    print()
    print("The last page the API serves (offset 9,980), not part of the target")
    print(table(("query", "n", "p50 ms", "p99 ms"), deep_rows, right=(False, True, True, True)))


if __name__ == "__main__":
    main()
