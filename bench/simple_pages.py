"""Benchmark the origin ``/simple/<name>/`` pages of one ``python -m services.simple`` process.

    .venv/bin/python bench/simple_pages.py [--quick] [--database-url postgresql+asyncpg://postgres@127.0.0.1/wheelhouse_bench]

What it does (see bench/README.md for the figures):

1. makes a temporary data dir, runs ``wheelhouse db upgrade`` on it (or on a freshly
   created Postgres database whose name must contain "bench"; it is dropped at the end);
2. seeds the database directly with SQLAlchemy Core bulk inserts (projects, releases,
   files, filename registry, journal; realistic wheel/sdist filenames, sha256, sizes,
   Requires-Python, some yanked releases, metadata_sha256 on wheels);
3. phase A: ``bench-10`` (10 files) and 1 other project; phase B adds ``bench-1000``,
   ``bench-10000`` and filler projects until ``bench-10`` has 10,000 other projects;
4. for each project page, in JSON (``Accept: application/vnd.pypi.simple.v1+json``) and
   HTML (``Accept: text/html``), measures
   * warm: the same page over and over (served from the in-process render cache), with
     1 and with N keep-alive connections;
   * cold: before every request the driver commits what ``record_event`` commits for a
     change (a journal row and the project's ``last_serial`` moved to it) on its own
     database connection, *outside* the timed span; then one timed GET. Every response is
     checked to carry the new serial, so every measured request is a render-cache miss
     that re-reads the files from the database and re-renders the page: the origin's cost
     of an edge miss on a changed page. Cold runs on one connection (the serial bumps
     must not race); its req/s is requests / time spent inside the GETs.

Load comes from an ``httpx.AsyncClient`` in this process (keep-alive, loopback only), on the
same machine as the server, so the client's own CPU time competes with the server's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

_common.ensure_venv()

import httpx  # noqa: E402
from packaging.utils import canonicalize_version  # noqa: E402
from packaging.version import Version  # noqa: E402
from sqlalchemy import func, insert, select, text, update  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine  # noqa: E402

from shared.db import create_engine as app_create_engine  # noqa: E402
from shared.schema import File, FilenameRegistry, JournalEntry, Project, Release  # noqa: E402
from shared.storage import blob_key  # noqa: E402

JSON_V1 = "application/vnd.pypi.simple.v1+json"
FORMATS = {"json": JSON_V1, "html": "text/html"}

PYTHONS = ("cp39", "cp310", "cp311", "cp312", "cp313")
PLATFORMS = (
    "manylinux_2_17_x86_64.manylinux2014_x86_64",
    "manylinux_2_17_aarch64.manylinux2014_aarch64",
    "musllinux_1_2_x86_64",
    "macosx_11_0_arm64",
)
WHEEL_TAGS = [f"{py}-{py}-{plat}" for py in PYTHONS for plat in PLATFORMS]  # 20
REQUIRES_PYTHON = (">=3.7", ">=3.8", ">=3.9", ">=3.10")
YANK_REASONS = ("broken build: missing extension module", None)
INSERT_BATCH = 5000
TARGET_MEDIAN_MS = 20.0


# --- seeding --------------------------------------------------------------------------------------


class Seeder:
    """Builds rows in Python with explicit ids and serials, then bulk-inserts them with Core."""

    def __init__(self, engine: AsyncEngine, *, seed: int = 20261125) -> None:
        self.engine = engine
        self.rng = random.Random(seed)
        self.project_id = self.release_id = self.file_id = self.serial = 0
        self.start_time = datetime(2021, 1, 4, 9, 30, tzinfo=UTC)
        self.clock = self.start_time
        self.files_total = 0

    def _hex(self, nbytes: int) -> str:
        return self.rng.randbytes(nbytes).hex()

    def _tick(self) -> datetime:
        self.clock += timedelta(seconds=self.rng.randint(1, 600), microseconds=self.rng.randint(0, 999_999))
        return self.clock

    def _journal(self, rows: list[dict], action: str, project: str, *, version: str | None = None,
                 filename: str | None = None, payload: dict | None = None, when: datetime) -> int:
        self.serial += 1
        rows.append({"serial": self.serial, "action": action, "project_name": project, "version": version,
                     "filename": filename, "payload": payload or {}, "actor": "bench", "created": when})
        return self.serial

    def project_rows(self, name: str, release_layout: list[int], rows: dict[str, list[dict]]) -> int:
        """Rows for one project whose releases hold ``release_layout[i]`` files each; returns its id."""
        self.project_id += 1
        pid = self.project_id
        escaped = name.replace("-", "_")
        created = self._tick()
        self._journal(rows["journal"], "project_created", name, when=created)
        total_size = 0
        for index, n_files in enumerate(release_layout):
            version = f"{index // 50}.{(index // 5) % 10}.{index % 5}" + ("rc1" if index % 25 == 24 else "")
            self.release_id += 1
            rid = self.release_id
            yanked = index % 20 == 7
            requires = REQUIRES_PYTHON[min(index * len(REQUIRES_PYTHON) // max(len(release_layout), 1),
                                           len(REQUIRES_PYTHON) - 1)]
            when = self._tick()
            rows["releases"].append({
                "id": rid, "project_id": pid, "version": version, "canonical_version": canonicalize_version(version),
                "is_prerelease": Version(version).is_prerelease, "yanked": yanked,
                "yanked_reason": YANK_REASONS[index % 2] if yanked else None, "requires_python": requires,
                "summary": f"The {name} project", "core_metadata": {"name": name, "version": version},
                "created": when,
            })
            self._journal(rows["journal"], "release_created", name, version=version, when=when)
            for k in range(n_files):
                self.file_id += 1
                if k == 0:
                    filename, packagetype, pyver = f"{escaped}-{version}.tar.gz", "sdist", "source"
                    size = self.rng.randint(200_000, 3_000_000)
                else:
                    tag = WHEEL_TAGS[(k - 1) % len(WHEEL_TAGS)]
                    filename, packagetype, pyver = f"{escaped}-{version}-{tag}.whl", "bdist_wheel", tag.split("-")[0]
                    size = self.rng.randint(1_000_000, 30_000_000)
                b2 = self._hex(32)
                sha = self._hex(32)
                path = blob_key(b2, filename)
                upload = self._tick()
                rows["files"].append({
                    "id": self.file_id, "project_id": pid, "release_id": rid, "filename": filename,
                    "packagetype": packagetype, "python_version": pyver, "size": size, "sha256": sha,
                    "blake2b_256": b2, "md5": self._hex(16), "path": path, "requires_python": requires,
                    "metadata_sha256": self._hex(32) if packagetype == "bdist_wheel" else None,
                    "upload_time": upload, "uploaded_by_id": None,
                })
                rows["registry"].append({"filename": filename, "project_name": name, "created": upload})
                self._journal(rows["journal"], "file_added", name, version=version, filename=filename,
                              payload={"sha256": sha, "size": size, "path": path}, when=upload)
                total_size += size
                self.files_total += 1
        rows["projects"].append({
            "id": pid, "name": name, "display_name": name, "status": "active", "status_reason": None,
            "last_serial": self.serial, "total_size": total_size, "created": created,
        })
        return pid

    async def _sync_counters(self) -> None:
        """Continue after whatever is in the database (the cold runs add journal rows)."""
        async with self.engine.connect() as conn:
            for attr, column in (("project_id", Project.id), ("release_id", Release.id), ("file_id", File.id),
                                 ("serial", JournalEntry.serial)):
                value = (await conn.execute(select(func.coalesce(func.max(column), 0)))).scalar_one()
                setattr(self, attr, max(getattr(self, attr), int(value)))

    async def seed(self, projects: list[tuple[str, list[int]]]) -> dict[str, int]:
        await self._sync_counters()
        rows: dict[str, list[dict]] = {"projects": [], "releases": [], "files": [], "registry": [], "journal": []}
        ids = {name: self.project_rows(name, layout, rows) for name, layout in projects}
        tables = [("projects", Project.__table__), ("releases", Release.__table__), ("files", File.__table__),
                  ("registry", FilenameRegistry.__table__), ("journal", JournalEntry.__table__)]
        async with self.engine.begin() as conn:
            for key, table in tables:
                data = rows[key]
                for start in range(0, len(data), INSERT_BATCH):
                    await conn.execute(insert(table), data[start:start + INSERT_BATCH])
            if conn.dialect.name == "postgresql":  # explicit ids: move the sequences past them
                for table, column in (("projects", "id"), ("releases", "id"), ("files", "id"), ("journal", "serial")):
                    await conn.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                        f"(SELECT max({column}) FROM {table}))"))
                await conn.execute(text("ANALYZE"))
        return ids


def layout_for(n_files: int) -> list[int]:
    """Releases of up to 20 files each (an sdist and 19 wheels)."""
    per = min(n_files, 20)
    full, rest = divmod(n_files, per)
    return [per] * full + ([rest] if rest else [])


def filler_layout(rng: random.Random) -> list[int]:
    return [rng.randint(1, 3) for _ in range(rng.randint(1, 3))]


# --- load -----------------------------------------------------------------------------------------


@dataclass
class Result:
    tag: str  # X-Request-ID prefix of the measured requests, to find them in the server's log
    case: str
    files: int
    others: int
    fmt: str
    mode: str
    concurrency: int
    requests: int
    seconds: float
    latencies: list[float]
    body_bytes: int
    server_ms: list[float] = field(default_factory=list)  # duration_ms the server logged for the same requests

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def ms(self, q: float) -> float:
        return _common.percentile(sorted(self.latencies), q) * 1000

    def server(self, q: float) -> float:
        return _common.percentile(sorted(self.server_ms), q)


_RUNS = iter(range(1, 1_000_000))


def new_tag() -> str:
    return f"bench{next(_RUNS):03d}"


async def _get(client: httpx.AsyncClient, url: str, accept: str, *, request_id: str = "warmup") -> tuple[float, httpx.Response]:
    headers = {"Accept": accept, "X-Request-ID": request_id}
    t0 = time.perf_counter()
    response = await client.get(url, headers=headers)
    elapsed = time.perf_counter() - t0
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} -> {response.status_code}: {response.text[:300]}")
    return elapsed, response


async def warm(client: httpx.AsyncClient, url: str, accept: str, *, tag: str, concurrency: int, max_requests: int,
               max_seconds: float) -> tuple[int, float, list[float], int]:
    for _ in range(3):  # fill the render cache and the connections
        _, response = await _get(client, url, accept)
    body = len(response.content)
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + max_seconds

    async def worker(w: int) -> None:
        i = 0
        while len(latencies) < max_requests and time.perf_counter() < deadline:
            i += 1
            elapsed, _ = await _get(client, url, accept, request_id=f"{tag}-{w}-{i}")
            latencies.append(elapsed)

    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return len(latencies), time.perf_counter() - started, latencies, body


async def cold(client: httpx.AsyncClient, bumper: AsyncEngine, url: str, accept: str, *, tag: str, project_id: int,
               name: str, max_requests: int, max_seconds: float) -> tuple[int, float, list[float], int]:
    journal, projects = JournalEntry.__table__, Project.__table__

    async def bump() -> int:
        """What record_event commits for a change: a journal row, and last_serial moved to it."""
        async with bumper.begin() as conn:
            serial = (await conn.execute(
                insert(journal).values(action="bench_touch", project_name=name, payload={}, actor="bench",
                                       created=datetime.now(UTC)).returning(journal.c.serial))).scalar_one()
            await conn.execute(update(projects).where(projects.c.id == project_id).values(last_serial=serial))
        return serial

    latencies: list[float] = []
    body = 0
    deadline = time.perf_counter() + max_seconds
    for i in range(max_requests + 2):
        serial = await bump()  # not timed
        elapsed, response = await _get(client, url, accept, request_id=f"{tag}-0-{i}" if i >= 2 else "warmup")
        if response.headers.get("x-pypi-last-serial") != str(serial):
            raise RuntimeError(f"cold request saw serial {response.headers.get('x-pypi-last-serial')}, "
                               f"expected {serial}: not a fresh render")
        body = len(response.content)
        if i >= 2:  # the first two only warm the connection and the code paths
            latencies.append(elapsed)
        if time.perf_counter() > deadline and len(latencies) >= 10:
            break
    return len(latencies), sum(latencies), latencies, body


def attach_server_times(results: list[Result], log_path: Path) -> None:
    """The server logs one JSON line per request with its own duration_ms and our X-Request-ID."""
    by_tag: dict[str, list[float]] = {}
    for line in log_path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        request_id = str(entry.get("request_id", ""))
        if entry.get("event") == "request" and request_id.startswith("bench") and "duration_ms" in entry:
            by_tag.setdefault(request_id.split("-", 1)[0], []).append(float(entry["duration_ms"]))
    for result in results:
        result.server_ms = by_tag.get(result.tag, [])


def check_page(response: httpx.Response, fmt: str, n_files: int) -> None:
    if fmt == "json":
        count = len(json.loads(response.content)["files"])
    else:
        count = response.text.count("<a href=")
    if count != n_files:
        raise RuntimeError(f"{response.url}: page lists {count} files, expected {n_files}")


async def measure_case(client: httpx.AsyncClient, bumper: AsyncEngine, args: argparse.Namespace, *, case: str,
                       name: str, project_id: int, n_files: int, others: int) -> list[Result]:
    url = f"/simple/{name}/"
    results = []
    for fmt, accept in FORMATS.items():
        _, response = await _get(client, url, accept)
        check_page(response, fmt, n_files)
        for concurrency in sorted({1, args.concurrency}):
            tag = new_tag()
            n, secs, lat, body = await warm(client, url, accept, tag=tag, concurrency=concurrency,
                                            max_requests=args.warm_requests, max_seconds=args.warm_seconds)
            results.append(Result(tag, case, n_files, others, fmt, "warm", concurrency, n, secs, lat, body))
            _common.say(f"  {case} {fmt} warm c={concurrency}: {n / secs:.0f} req/s, "
                        f"p50 {results[-1].ms(50):.2f} ms")
        tag = new_tag()
        n, secs, lat, body = await cold(client, bumper, url, accept, tag=tag, project_id=project_id, name=name,
                                        max_requests=args.cold_requests, max_seconds=args.cold_seconds)
        results.append(Result(tag, case, n_files, others, fmt, "cold", 1, n, secs, lat, body))
        _common.say(f"  {case} {fmt} cold c=1: {n / secs:.0f} req/s, p50 {results[-1].ms(50):.2f} ms")
    return results


# --- orchestration --------------------------------------------------------------------------------


async def explain_files_query(engine: AsyncEngine, project_id: int) -> str:
    """The plan of the page's files query, to show it is driven by the project_id index."""
    from services.simple.repository import _FILE_COLUMNS

    stmt = (select(*_FILE_COLUMNS).join(Release, Release.id == File.release_id)
            .where(File.project_id == project_id).order_by(File.filename))
    async with engine.connect() as conn:
        compiled = stmt.compile(conn.sync_connection, compile_kwargs={"literal_binds": True})
        prefix = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
        rows = (await conn.execute(text(prefix + str(compiled)))).all()
    return "\n".join("    " + (row[-1] if conn.dialect.name == "sqlite" else row[0]) for row in rows)


async def run(args: argparse.Namespace, tmp: Path) -> None:
    meter = _common.CpuMeter()
    data_dir = tmp / "data"
    data_dir.mkdir()
    database_url = args.database_url or f"sqlite+aiosqlite:///{data_dir / 'wheelhouse.sqlite3'}"
    is_pg = database_url.startswith("postgresql")
    if is_pg:
        await _common.create_pg_database(database_url)
    env = _common.base_env(data_dir, database_url, WHEELHOUSE_LOG_FORMAT="json")
    try:
        _common.say("migrating …")
        _common.cli(env, "db", "upgrade", "--data-dir", str(data_dir), "--database-url", database_url)
        seed_engine = create_async_engine(database_url)
        bumper = app_create_engine(database_url, service_name="bench-driver", writer=True, pool_size=2)
        seeder = Seeder(seed_engine)
        server = _common.Server(args.server_module, env, tmp / "simple.log")
        results: list[Result] = []
        limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
        try:
            # Phase A: bench-10 and one other project.
            t0 = time.perf_counter()
            ids = await seeder.seed([("bench-10", layout_for(10)), ("project-00000", filler_layout(seeder.rng))])
            _common.say(f"phase A seeded in {time.perf_counter() - t0:.1f} s")
            server.start(probe="/simple/bench-10/")
            async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=120, trust_env=False) as client:
                results += await measure_case(client, bumper, args, case="A", name="bench-10",
                                              project_id=ids["bench-10"], n_files=10, others=1)
            server.stop()

            # Phase B: 10,000 other projects, two of them large.
            t0 = time.perf_counter()
            fillers = [(f"project-{i:05d}", filler_layout(seeder.rng)) for i in range(1, 9_998)]
            ids |= await seeder.seed([("bench-1000", layout_for(1000)), ("bench-10000", layout_for(10_000)), *fillers])
            async with seed_engine.connect() as conn:
                n_projects = (await conn.execute(select(func.count()).select_from(Project))).scalar_one()
                n_files = (await conn.execute(select(func.count()).select_from(File))).scalar_one()
                n_journal = (await conn.execute(select(func.count()).select_from(JournalEntry))).scalar_one()
            _common.say(f"phase B seeded in {time.perf_counter() - t0:.1f} s: {n_projects} projects, "
                        f"{n_files} files, {n_journal} journal rows")
            plan = "\n".join([f"  {name}:\n" + await explain_files_query(seed_engine, ids[name])
                              for name in ("bench-10", "bench-10000")])
            server.start(probe="/simple/bench-10/")
            async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=120, trust_env=False) as client:
                for case, name, files in (("B", "bench-10", 10), ("B", "bench-1000", 1000),
                                          ("B", "bench-10000", 10_000)):
                    results += await measure_case(client, bumper, args, case=case, name=name,
                                                  project_id=ids[name], n_files=files, others=n_projects - 1)
            server.stop()
        finally:
            server.stop()
            await bumper.dispose()
            await seed_engine.dispose()
        attach_server_times(results, server.log_path)
        report(args, database_url, results, plan=plan, totals=(n_projects, n_files, n_journal), load=meter.facts(), warning=meter.warning())
    finally:
        if is_pg and not args.keep:
            await _common.drop_pg_database(database_url)


def _fmt_ms(value: float) -> str:
    return "-" if value != value else f"{value:.2f}"  # NaN: the server logged nothing for the run


def report(args: argparse.Namespace, database_url: str, results: list[Result], *, plan: str,
           totals: tuple[int, int, int], load: list[tuple[str, str]], warning: str) -> None:
    backend = "postgres" if database_url.startswith("postgresql") else "sqlite"
    print(f"# simple_pages — {backend}{' (quick)' if args.quick else ''}\n")
    print(_common.table(["machine", ""], _common.machine_facts(database_url) + load))
    if warning:
        print(warning)
    print(f"\nindex: {totals[0]:,} projects, {totals[1]:,} files, {totals[2]:,} journal rows (phase B); "
          f"warm runs ≤ {args.warm_seconds} s / {args.warm_requests} requests, "
          f"cold runs ≤ {args.cold_seconds} s / {args.cold_requests} requests.\n"
          "p50/p99: measured by the httpx client (full response read); srv p50/p99: the duration_ms the "
          "server logged for the same requests (app time, without the client).\n")
    rows = [[r.files, f"{r.others:,}", r.fmt, r.mode, r.concurrency, r.requests, f"{r.rps:,.0f}",
             f"{r.ms(50):.2f}", f"{r.ms(99):.2f}", _fmt_ms(r.server(50)), _fmt_ms(r.server(99)),
             f"{r.body_bytes / 1024:,.0f}"] for r in results]
    print(_common.table(["files", "other projects", "format", "mode", "conns", "requests", "req/s",
                         "p50 ms", "p99 ms", "srv p50", "srv p99", "body KiB"], rows,
                        right=[True, True, False, False, True, True, True, True, True, True, True, True]))

    others = max(r.others for r in results)
    print("\nDoes request cost grow with the number of projects? (bench-10 page, 1 connection, p50 ms)\n")
    scale_rows = []
    for fmt in FORMATS:
        for mode in ("warm", "cold"):
            a, b = (next(r for r in results if r.files == 10 and r.others == n and r.fmt == fmt and r.mode == mode
                         and r.concurrency == 1) for n in (1, others))
            scale_rows.append([fmt, mode, f"{a.ms(50):.2f}", f"{b.ms(50):.2f}", f"{b.ms(50) / a.ms(50):.2f}x",
                               _fmt_ms(a.server(50)), _fmt_ms(b.server(50)),
                               f"{b.server(50) / a.server(50):.2f}x" if a.server_ms and b.server_ms else "-"])
    print(_common.table(["format", "mode", "1 other", f"{others:,} others", "ratio", "srv 1 other",
                         f"srv {others:,} others", "srv ratio"], scale_rows,
                        right=[False, False, True, True, True, True, True, True]))

    print(f"\nTarget: a 10,000-file page at a median under {TARGET_MEDIAN_MS:.0f} ms (1 connection)\n")
    target_rows = []
    for r in results:
        if r.files == 10_000 and r.concurrency == 1:
            target_rows.append([r.fmt, r.mode, f"{r.ms(50):.2f}", _verdict(r.ms(50)), _fmt_ms(r.server(50)),
                                _verdict(r.server(50)) if r.server_ms else "-"])
    print(_common.table(["format", "mode", "p50 ms", "client-measured", "srv p50 ms", "server-measured"],
                        target_rows, right=[False, False, True, False, True, False]))
    print(f"\nplan of the page's files query (phase B):\n{plan}")


def _verdict(median_ms: float) -> str:
    if median_ms < TARGET_MEDIAN_MS:
        return "met"
    return f"missed by {median_ms - TARGET_MEDIAN_MS:.1f} ms ({median_ms / TARGET_MEDIAN_MS:.1f}x)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests per measurement (~1 min)")
    parser.add_argument("--database-url", help="postgresql+asyncpg://postgres@127.0.0.1/wheelhouse_bench "
                        "(recreated, then dropped; name must contain 'bench'); default: SQLite in a temp dir")
    parser.add_argument("--concurrency", type=int, default=4, help="connections for the second warm run (4)")
    parser.add_argument("--keep", action="store_true", help="keep the Postgres database afterwards")
    parser.add_argument("--server-module", default="services.simple",
                        help="module run as the server (python -m MODULE); for experiments only")
    args = parser.parse_args()
    args.warm_seconds, args.warm_requests = (0.8, 500) if args.quick else (3.0, 5000)
    args.cold_seconds, args.cold_requests = (1.5, 60) if args.quick else (5.0, 300)
    with _common.temp_dir("wheelhouse-bench-simple-") as tmp:
        asyncio.run(run(args, tmp))


if __name__ == "__main__":
    main()
