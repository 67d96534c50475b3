"""Where a cold 10,000-file project page spends its time, stage by stage, in-process (no HTTP).

    .venv/bin/python bench/profile_simple_page.py [--files 10000] [--database-url postgresql+asyncpg://…/wheelhouse_bench]

Seeds one project the way bench/simple_pages.py does (plus 2,000 small projects so the
planner sees a non-trivial releases table), then times, with the service's own code:

* each stage of ``SimpleService.project_page`` on a render-cache miss: the project head
  lookup, the files query, turning rows into ``FileEntry`` objects, the versions, rendering;
* alternatives for the two expensive stages (evidence for the fixes suggested in
  bench/README.md): the same query through Core table columns instead of ORM attributes,
  only the columns the page uses, no result-type processing at all, and building the entries
  from unpacked tuples instead of named attribute access on ``Row``.

Optionally ``--cprofile`` prints the top functions of one full page build.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

_common.ensure_venv()

import simple_pages  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from services.simple.pages import FileEntry  # noqa: E402
from services.simple.render import render_project_html, render_project_json  # noqa: E402
from services.simple.repository import SimpleRepository  # noqa: E402
from services.simple.service import _build_project_page, _file_entries  # noqa: E402
from shared.config import SimpleSettings  # noqa: E402
from shared.db import Database  # noqa: E402
from shared.names import sort_versions  # noqa: E402
from shared.schema import File, Release  # noqa: E402

F, R = File.__table__.c, Release.__table__.c


async def timed(fn, repeat: int) -> tuple[float, object]:  # noqa: ANN001
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = await fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), result


async def run(args: argparse.Namespace, tmp: Path) -> None:
    database_url = args.database_url or f"sqlite+aiosqlite:///{tmp / 'wheelhouse.sqlite3'}"
    is_pg = database_url.startswith("postgresql")
    if is_pg:
        await _common.create_pg_database(database_url)
    try:
        env = _common.base_env(tmp, database_url)
        _common.cli(env, "db", "upgrade", "--data-dir", str(tmp), "--database-url", database_url)
        engine = create_async_engine(database_url)
        seeder = simple_pages.Seeder(engine)
        name = f"bench-{args.files}"
        fillers = [(f"project-{i:05d}", simple_pages.filler_layout(seeder.rng)) for i in range(2000)]
        ids = await seeder.seed([(name, simple_pages.layout_for(args.files)), *fillers])
        await engine.dispose()
        pid = ids[name]
        db = Database.from_settings(SimpleSettings(data_dir=tmp, database_url=database_url), service_name="bench")
        try:
            async with db.read_session() as session:
                await measure(args, session, name, pid)
        finally:
            await db.aclose()
    finally:
        if is_pg:
            await _common.drop_pg_database(database_url)


async def measure(args: argparse.Namespace, session, name: str, pid: int) -> None:  # noqa: ANN001
    repo = SimpleRepository(session)
    n = args.repeat
    stages: list[tuple[str, float]] = []

    head_ms, head = await timed(lambda: repo.get_project_head(name), n)
    stages.append(("project head lookup", head_ms))
    files_ms, rows = await timed(lambda: repo.page_files(pid), n)
    stages.append((f"files query ({len(rows):,} rows, the 10 columns a page shows)", files_ms))

    async def entries():  # noqa: ANN202
        return _file_entries(rows)

    entries_ms, _ = await timed(entries, n)
    stages.append(("rows -> FileEntry, sorted by filename", entries_ms))

    async def versions():  # noqa: ANN202
        return sort_versions(await repo.project_versions(pid))

    versions_ms, _ = await timed(versions, n)
    stages.append(("versions query + sort_versions", versions_ms))
    page = await _build_project_page(repo, head)

    async def json_page():  # noqa: ANN202
        return render_project_json(page)

    async def html_page():  # noqa: ANN202
        return render_project_html(page)

    json_ms, _ = await timed(json_page, n)
    html_ms, _ = await timed(html_page, n)
    stages.append(("render JSON", json_ms))
    stages.append(("render HTML", html_ms))

    async def whole_json():  # noqa: ANN202
        head = await repo.get_project_head(name)
        return render_project_json(await _build_project_page(repo, head))

    whole_ms, _ = await timed(whole_json, n)
    stages.append(("= whole cold JSON page (head + _build_project_page + render), measured", whole_ms))

    backend = session.bind.dialect.name
    print(f"# profile_simple_page — {backend}, {args.files:,}-file project, median of {n}\n")
    print(_common.table(["stage of a cold page (render-cache miss)", "ms"], [[s, f"{v:.1f}"] for s, v in stages],
                        right=[False, True]))
    if args.cprofile:
        profile = cProfile.Profile()
        profile.enable()
        await whole_json()
        profile.disable()
        print("\ncProfile of one cold JSON page build (top 20 by own time):")
        pstats.Stats(profile, stream=sys.stdout).sort_stats("tottime").print_stats(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--database-url", help="postgresql+asyncpg://postgres@127.0.0.1/wheelhouse_bench "
                        "(recreated, then dropped); default: SQLite in a temp dir")
    parser.add_argument("--cprofile", action="store_true")
    args = parser.parse_args()
    with _common.temp_dir("wheelhouse-bench-profile-") as tmp:
        asyncio.run(run(args, tmp))


if __name__ == "__main__":
    main()
