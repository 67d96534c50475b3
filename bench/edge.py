"""Benchmark the edge: Varnish (deploy/varnish/default.vcl) in front of ``wheelhouse serve``.

    .venv/bin/python bench/edge.py [--quick] [--database-url postgresql+asyncpg://postgres@127.0.0.1/wheelhouse_bench_edge]

What it does (see bench/README.md for the figures):

1. seeds N projects (10,000; ``--quick`` 1,000) straight into the database with
   ``simple_pages.Seeder``: one release of an sdist and a wheel each, with small blobs and a
   ``.metadata`` next to each wheel in local file storage; the bench user owns every project;
   the purger's and search indexer's cursors start after the seeded journal;
2. starts ``wheelhouse serve`` (the purger runs in-process, ``WHEELHOUSE_EDGE_PURGE_URLS`` =
   the edge) and a varnishd with the project's VCL in front of it;
3. crawls every object once through the edge (the steady state: a long-running edge holds
   the whole working set), which also measures the origin serving nothing but misses;
4. origin alone: the read mix straight at the origin at full rate (reader processes, then wrk);
5. the edge: the read mix through the edge (reader processes) while a writer uploads a new
   wheel to a Zipf-drawn project every 1/rate s through ``POST /legacy/``, and for each upload
   a poller reads that project's JSON page at the edge every 20 ms until it lists the new
   file (purge-to-fresh); warm-up, then a steady window bracketed by varnishstat snapshots;
6. the edge at full rate with wrk (no writer), for the edge ÷ origin ratio.

The read mix: a Zipf (s = 1.1) draw over the projects, then the kind: the JSON page
(pip's Accept) 40 %, the HTML page (a browser's Accept) 10 %, the wheel's ``.metadata``
20 %, a file (sdist or wheel) 30 %.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import bisect
import hashlib
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

_common.ensure_venv()

import httpx  # noqa: E402

PIP_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
KINDS = ("json", "html", "metadata", "file")
KIND_WEIGHTS = (0.40, 0.10, 0.20, 0.30)
ZIPF_S = 1.1
TARGET_HIT = 99.5
TARGET_PURGE_P99_MS = 1000.0
TARGET_RATIO = 20.0


# --- the workload -------------------------------------------------------------------------------


def zipf_cumulative(n: int, s: float = ZIPF_S) -> list[float]:
    total, cum = 0.0, []
    for k in range(1, n + 1):
        total += k ** -s
        cum.append(total)
    return [c / total for c in cum]


def draw(rng: random.Random, cum: list[float], projects: list[dict]) -> tuple[str, str, str]:
    """(kind, path, accept) of one request."""
    project = projects[min(bisect.bisect_left(cum, rng.random()), len(projects) - 1)]
    kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
    if kind == "json":
        return kind, project["page"], PIP_ACCEPT
    if kind == "html":
        return kind, project["page"], BROWSER_ACCEPT
    if kind == "metadata":
        return kind, rng.choice(project["metadata"]), "*/*"
    return kind, rng.choice(project["files"]), "*/*"


async def reader_main(spec: dict) -> dict:
    """One reader process: ``connections`` keep-alive connections drawing from the mix until ``end``;
    records the requests that start inside [measure_from, end)."""
    projects = json.loads(Path(spec["projects"]).read_text())
    cum = zipf_cumulative(len(projects))
    rng = random.Random(spec["seed"])
    lat: dict[str, list[float]] = {k: [] for k in KINDS}
    cache: dict[str, dict[str, int]] = {k: {} for k in KINDS}
    errors: dict[str, int] = {}
    measure_from, end = spec["measure_from"], spec["end"]
    limits = httpx.Limits(max_connections=spec["connections"], max_keepalive_connections=spec["connections"])
    async with httpx.AsyncClient(base_url=spec["url"], limits=limits, timeout=30, trust_env=False) as client:
        async def worker() -> None:
            while (t0 := time.monotonic()) < end:
                kind, path, accept = draw(rng, cum, projects)
                try:
                    response = await client.get(path, headers={"Accept": accept})
                    await response.aread()
                    status = response.status_code
                except httpx.HTTPError as exc:
                    status, response = type(exc).__name__, None
                t1 = time.monotonic()
                if t0 < measure_from:
                    continue
                if status != 200:
                    errors[f"{kind} {status}"] = errors.get(f"{kind} {status}", 0) + 1
                    continue
                lat[kind].append((t1 - t0) * 1000)
                x = response.headers.get("x-cache", "-") if response is not None else "-"
                cache[kind][x] = cache[kind].get(x, 0) + 1

        await asyncio.gather(*(worker() for _ in range(spec["connections"])))
    return {"lat": lat, "cache": cache, "errors": errors}


def start_readers(n: int, *, url: str, projects_file: Path, connections: int, measure_from: float, end: float,
                  tmp: Path, tag: str) -> list[tuple[subprocess.Popen, Path]]:
    readers = []
    for i in range(n):
        spec = {"url": url, "projects": str(projects_file), "connections": connections, "seed": f"{tag}-{i}",
                "measure_from": measure_from, "end": end}
        spec_path, out_path = tmp / f"reader-{tag}-{i}.json", tmp / f"reader-{tag}-{i}.out.json"
        spec_path.write_text(json.dumps(spec))
        process = subprocess.Popen([_common.python(), __file__, "--reader", str(spec_path), str(out_path)],
                                   cwd=_common.REPO)
        readers.append((process, out_path))
    return readers


def collect_readers(readers: list[tuple[subprocess.Popen, Path]]) -> dict:
    merged: dict = {"lat": {k: [] for k in KINDS}, "cache": {k: {} for k in KINDS}, "errors": {}}
    for process, out_path in readers:
        if process.wait(timeout=300) != 0:
            raise RuntimeError(f"a reader process failed ({process.returncode})")
        result = json.loads(out_path.read_text())
        for k in KINDS:
            merged["lat"][k] += result["lat"][k]
            for x, n in result["cache"][k].items():
                merged["cache"][k][x] = merged["cache"][k].get(x, 0) + n
        for e, n in result["errors"].items():
            merged["errors"][e] = merged["errors"].get(e, 0) + n
    return merged


# --- seeding -------------------------------------------------------------------------------------


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def metadata_text(name: str, version: str) -> bytes:
    return (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
            "Summary: A wheel made by bench/edge.py\nRequires-Python: >=3.9\n").encode()


def tiny_wheel(name: str, version: str) -> tuple[str, bytes]:
    escaped = name.replace("-", "_")
    dist_info = f"{escaped}-{version}.dist-info"
    members = {
        f"{escaped}/__init__.py": f'"""{name} {version}"""\n'.encode(),
        f"{dist_info}/METADATA": metadata_text(name, version),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: wheelhouse-bench 1.0\nRoot-Is-Purelib: true\n"
                              b"Tag: py3-none-any\n",
    }
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in members.items())
    record += f"{dist_info}/RECORD,,\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, data in members.items():
            archive.writestr(path, data)
        archive.writestr(f"{dist_info}/RECORD", record)
    return f"{escaped}-{version}-py3-none-any.whl", buffer.getvalue()


async def seed(database_url: str, data_dir: Path, n_projects: int) -> list[dict]:
    """Projects ``edge-00000`` … with one release of an sdist and a wheel; small blobs and .metadata
    in local storage; the bench user owns them all; consumers start after the seeded journal."""
    from sqlalchemy import bindparam, func, insert, select
    from sqlalchemy.ext.asyncio import create_async_engine

    import simple_pages
    from shared.schema import ConsumerCursor, File, JournalEntry, Role, User

    engine = create_async_engine(database_url)
    seeder = simple_pages.Seeder(engine)
    names = [f"edge-{i:05d}" for i in range(n_projects)]
    try:
        await seeder.seed([(name, [2]) for name in names])
        storage = data_dir / "files"
        rng = random.Random(7)
        projects: dict[int, dict] = {}
        async with engine.begin() as conn:
            rows = (await conn.execute(select(File.id, File.project_id, File.filename, File.path,
                                              File.packagetype))).all()
            updates = []
            for fid, pid, filename, path, packagetype in rows:
                body = rng.randbytes(rng.randint(2_000, 20_000))
                target = storage / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(body)
                entry = projects.setdefault(pid, {"files": [], "metadata": []})
                entry["files"].append(f"/packages/{path}")
                values = {"fid": fid, "size": len(body), "sha": hashlib.sha256(body).hexdigest(), "meta": None}
                if packagetype == "bdist_wheel":
                    escaped, version = filename.split("-")[:2]
                    meta = metadata_text(escaped.replace("_", "-"), version)
                    (storage / (path + ".metadata")).write_bytes(meta)
                    values["meta"] = hashlib.sha256(meta).hexdigest()
                    entry["metadata"].append(f"/packages/{path}.metadata")
                updates.append(values)
            files = File.__table__
            await conn.execute(files.update().where(files.c.id == bindparam("fid")).values(
                size=bindparam("size"), sha256=bindparam("sha"), metadata_sha256=bindparam("meta")), updates)
            user_id = (await conn.execute(select(User.id).where(User.username == "bench"))).scalar_one()
            await conn.execute(insert(Role), [{"user_id": user_id, "project_id": pid, "role_name": "Owner"}
                                              for pid in sorted(projects)])
            serial = (await conn.execute(select(func.max(JournalEntry.serial)))).scalar_one()
            from datetime import UTC, datetime
            await conn.execute(insert(ConsumerCursor), [
                {"name": name, "last_serial": serial, "updated": datetime.now(UTC)}
                for name in ("purger", "search-indexer")])
        # seeder ids are 1..n in name order
        return [{"name": name, "page": f"/simple/{name}/", **projects[i + 1]} for i, name in enumerate(names)]
    finally:
        await engine.dispose()


# --- the origin and the edge ---------------------------------------------------------------------


@dataclass
class Origin:
    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=_common.free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen([_common.python(), "-m", "services.cli.main", "serve", "--port",
                                             str(self.port)], env=self.env, cwd=_common.REPO, stdout=log,
                                            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"wheelhouse serve exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/livez", timeout=2, trust_env=False).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("wheelhouse serve did not answer")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


async def crawl(url: str, projects: list[dict], *, connections: int) -> tuple[int, float, dict[str, int]]:
    """Every object once (both page variants, every file and .metadata)."""
    jobs = []
    for p in projects:
        jobs += [(p["page"], PIP_ACCEPT), (p["page"], BROWSER_ACCEPT)]
        jobs += [(f, "*/*") for f in p["files"] + p["metadata"]]
    queue = iter(jobs)
    statuses: dict[str, int] = {}
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60, trust_env=False) as client:
        async def worker() -> None:
            for path, accept in queue:
                response = await client.get(path, headers={"Accept": accept})
                key = f"{response.status_code} {response.headers.get('x-cache', '-')}"
                statuses[key] = statuses.get(key, 0) + 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
    return len(jobs), time.perf_counter() - t0, statuses


# --- the writer and the purge-to-fresh probes -----------------------------------------------------


@dataclass
class Upload:
    project: str
    filename: str
    upload_s: float
    fresh_ms: float | None = None
    polls: int = 0


async def poll_fresh(client: httpx.AsyncClient, upload: Upload, done_at: float, *, timeout: float = 30) -> None:
    while True:
        response = await client.get(f"/simple/{upload.project}/", headers={"Accept": PIP_ACCEPT})
        upload.polls += 1
        now = time.monotonic()
        if response.status_code == 200 and upload.filename in response.text:
            upload.fresh_ms = (now - done_at) * 1000
            return
        if now - done_at > timeout:
            return
        await asyncio.sleep(0.02)


_VERSIONS = iter(range(1, 10**9))


async def writer(edge_url: str, token: str, projects: list[dict], *, rate: float, until: float,
                 uploads: list[Upload]) -> None:
    cum = zipf_cumulative(len(projects))
    rng = random.Random(f"writer-{until}")
    pollers = []
    async with httpx.AsyncClient(base_url=edge_url, timeout=60, trust_env=False) as client, \
            httpx.AsyncClient(base_url=edge_url, timeout=30, trust_env=False) as probe:
        i = 0
        next_at = time.monotonic()
        while next_at < until:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            next_at += 1 / rate
            i = next(_VERSIONS)
            project = projects[min(bisect.bisect_left(cum, rng.random()), len(projects) - 1)]["name"]
            version = f"9.{i}"
            filename, body = tiny_wheel(project, version)
            fields = {":action": "file_upload", "protocol_version": "1", "metadata_version": "2.1", "name": project,
                      "version": version, "filetype": "bdist_wheel", "pyversion": "py3",
                      "sha256_digest": hashlib.sha256(body).hexdigest(),
                      "blake2_256_digest": hashlib.blake2b(body, digest_size=32).hexdigest()}
            t0 = time.monotonic()
            response = await client.post("/legacy/", data=fields, files={"content": (filename, body)},
                                         auth=("__token__", token))
            done = time.monotonic()
            if response.status_code != 200:
                raise RuntimeError(f"upload {filename} -> {response.status_code}: {response.text[:300]}")
            upload = Upload(project, filename, done - t0)
            uploads.append(upload)
            pollers.append(asyncio.create_task(poll_fresh(probe, upload, done)))
        await asyncio.gather(*pollers)


# --- wrk ------------------------------------------------------------------------------------------


WRK_LUA = """
local paths, accepts, n = {}, {}, 0
for line in io.lines(os.getenv("EDGE_BENCH_URLS")) do
  local accept, path = line:match("^([^\\t]*)\\t(.*)$")
  n = n + 1; paths[n] = path; accepts[n] = accept
end
local i = 0
function setup(thread) thread:set("offset", math.random(n)) end
function init(args) i = offset end
function request()
  i = i % n + 1
  return wrk.format("GET", paths[i], {["Accept"] = accepts[i]})
end
"""


def wrk_run(url: str, urls_file: Path, script: Path, *, seconds: int, connections: int) -> dict | None:
    binary = shutil.which("wrk")
    if not binary:
        return None
    env = {**os.environ, "EDGE_BENCH_URLS": str(urls_file)}
    out = subprocess.run([binary, "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
                         capture_output=True, text=True, env=env, timeout=seconds + 60).stdout
    result: dict = {"raw": out}
    for line in out.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            result["rps"] = float(parts[1])
        elif line.strip().startswith(("50%", "99%")):
            result[parts[0]] = parts[1]
        elif "Non-2xx" in line:
            result["non2xx"] = int(parts[-1])
        elif "requests in" in line:
            result["requests"] = int(parts[0])
    return result


# --- the run --------------------------------------------------------------------------------------


def delta(after: dict[str, int], before: dict[str, int], name: str) -> int:
    return after.get(name, 0) - before.get(name, 0)


async def run(args: argparse.Namespace, tmp: Path, database_url: str) -> None:
    from shared.edge.varnish import SERVICES, Varnishd
    from shared.edge.varnish import Origin as EdgeOrigin

    meter = _common.CpuMeter()
    data_dir = tmp / "data"
    data_dir.mkdir()
    edge_port = _common.free_port()
    env = _common.base_env(data_dir, database_url, WHEELHOUSE_LOG_FORMAT="json",
                           WHEELHOUSE_RATE_LIMITS_ENABLED="false",
                           WHEELHOUSE_EDGE_PURGE_URLS=json.dumps([f"http://127.0.0.1:{edge_port}"]))
    common = ("--data-dir", str(data_dir), "--database-url", database_url)
    _common.cli(env, "db", "upgrade", *common)
    _common.cli(env, "users", "create", "bench", "--email", "bench@example.org", "--password-stdin", *common,
                input="bench-password-0123456789\n")
    token = _common.cli(env, "tokens", "create", "--user", "bench", *common).strip()
    t0 = time.perf_counter()
    projects = await seed(database_url, data_dir, args.projects)
    seed_s = time.perf_counter() - t0
    _common.say(f"seeded {len(projects)} projects in {seed_s:.1f} s")
    projects_file = tmp / "projects.json"
    projects_file.write_text(json.dumps(projects))
    n_objects = sum(2 + len(p["files"]) + len(p["metadata"]) for p in projects)

    origin = Origin(env, tmp / "origin.log")
    edge = Varnishd(tmp / "edge", {name: EdgeOrigin("127.0.0.1", origin.port) for name in SERVICES},
                    port=edge_port, storage="malloc,1g")
    results: dict = {"seed_s": seed_s, "objects": n_objects}
    try:
        origin.start()
        edge.start()
        # 1. the crawl: every object once, through the edge.
        n, secs, statuses = await crawl(edge.url, projects, connections=args.crawl_connections)
        results["crawl"] = (n, secs, statuses)
        _common.say(f"crawl: {n} objects in {secs:.1f} s ({n / secs:.0f}/s) {statuses}")

        # 2. the origin alone, the same mix at full rate.
        now = time.monotonic()
        measure_from, end = now + 3, now + 3 + args.origin_seconds
        readers = start_readers(args.readers, url=origin.url, projects_file=projects_file,
                                connections=args.connections, measure_from=measure_from, end=end, tmp=tmp,
                                tag="origin")
        results["origin"] = collect_readers(readers)
        results["origin_s"] = args.origin_seconds
        _common.say(f"origin alone: {sum(map(len, results['origin']['lat'].values())) / args.origin_seconds:.0f}"
                    " req/s")
        rng = random.Random(5)
        cum = zipf_cumulative(len(projects))
        urls_file, script = tmp / "urls.tsv", tmp / "mix.lua"
        urls_file.write_text("".join(f"{accept}\t{path}\n" for _, path, accept in
                                     (draw(rng, cum, projects) for _ in range(200_000))))
        script.write_text(WRK_LUA)
        results["wrk_origin"] = wrk_run(origin.url, urls_file, script, seconds=args.wrk_seconds,
                                        connections=args.wrk_connections)

        # 3. the edge with uploads arriving; warm-up, then the steady window.
        now = time.monotonic()
        measure_from, end = now + args.warmup_seconds, now + args.warmup_seconds + args.edge_seconds
        readers = start_readers(args.readers, url=edge.url, projects_file=projects_file,
                                connections=args.connections, measure_from=measure_from, end=end, tmp=tmp,
                                tag="edge")
        uploads: list[Upload] = []
        write = asyncio.create_task(writer(edge.url, token, projects, rate=args.upload_rate, until=end - 1,
                                           uploads=uploads))
        await asyncio.sleep(max(0.0, measure_from - time.monotonic()))
        before = await asyncio.to_thread(edge.counters)
        window_t0 = time.monotonic()
        await asyncio.sleep(max(0.0, end - time.monotonic()))
        after = await asyncio.to_thread(edge.counters)
        window_s = time.monotonic() - window_t0
        results["edge"] = await asyncio.to_thread(collect_readers, readers)
        await write
        results["uploads"] = uploads
        results["varnish"] = (before, after, window_s)
        results["edge_s"] = args.edge_seconds
        # 4. the edge at full rate (wrk), uploads arriving as before.
        if shutil.which("wrk"):
            wrk_uploads: list[Upload] = []
            write = asyncio.create_task(writer(edge.url, token, projects, rate=args.upload_rate,
                                               until=time.monotonic() + args.wrk_seconds - 1,
                                               uploads=wrk_uploads))
            before = await asyncio.to_thread(edge.counters)
            t0 = time.monotonic()
            results["wrk_edge"] = await asyncio.to_thread(wrk_run, edge.url, urls_file, script,
                                                          seconds=args.wrk_seconds,
                                                          connections=args.wrk_connections)
            after = await asyncio.to_thread(edge.counters)
            results["varnish_wrk"] = (before, after, time.monotonic() - t0)
            await write
            results["wrk_uploads"] = wrk_uploads
    finally:
        edge.stop()
        origin.stop()
    report(args, database_url, results, load=meter.facts(), warning=meter.warning())


# --- the report -----------------------------------------------------------------------------------


def _ms(values: list[float], q: float) -> str:
    return f"{_common.percentile(sorted(values), q):.2f}" if values else "-"


def mix_table(result: dict, seconds: float) -> str:
    rows = []
    everything: list[float] = []
    for kind in KINDS:
        lat = result["lat"][kind]
        everything += lat
        cache = result["cache"][kind]
        hits, misses = cache.get("HIT", 0), cache.get("MISS", 0)
        rows.append([kind, len(lat), f"{len(lat) / seconds:,.0f}", _ms(lat, 50), _ms(lat, 99), _ms(lat, 100),
                     f"{100 * hits / (hits + misses):.3f}" if hits + misses else "-", misses if hits + misses else "-"])
    rows.append(["all", len(everything), f"{len(everything) / seconds:,.0f}", _ms(everything, 50),
                 _ms(everything, 99), _ms(everything, 100), *hit_cells(result)])
    return _common.table(["kind", "requests", "req/s", "p50 ms", "p99 ms", "max ms", "X-Cache hit %", "misses"],
                         rows, right=[False, True, True, True, True, True, True, True])


def hit_cells(result: dict) -> list[str]:
    hits = sum(c.get("HIT", 0) for c in result["cache"].values())
    misses = sum(c.get("MISS", 0) for c in result["cache"].values())
    if not hits + misses:
        return ["-", "-"]
    return [f"{100 * hits / (hits + misses):.3f}", str(misses)]


def report(args: argparse.Namespace, database_url: str, results: dict, *, load: list[tuple[str, str]],
           warning: str) -> None:
    backend = "postgres" if database_url.startswith("postgresql") else "sqlite"
    print(f"# edge — {backend}{' (quick)' if args.quick else ''}\n")
    print(_common.table(["machine", ""], _common.machine_facts(database_url) + load))
    if warning:
        print(warning)
    varnishd = subprocess.run(["varnishd", "-V"], capture_output=True, text=True).stderr.splitlines()
    print(f"\n{varnishd[0] if varnishd else 'varnishd ?'}; wrk: {shutil.which('wrk') or 'not installed'}")
    n, secs, statuses = results["crawl"]
    print(f"\nindex: {args.projects:,} projects, {results['objects']:,} objects (2 page variants, an sdist, a wheel "
          f"and its .metadata each); Zipf s={ZIPF_S}; mix json/html/metadata/file = "
          f"{'/'.join(f'{w:.0%}' for w in KIND_WEIGHTS)}; {args.readers} reader processes × {args.connections} "
          f"keep-alive connections (httpx).")
    print(f"crawl (every object once through the edge, all misses, {args.crawl_connections} connections): "
          f"{n:,} in {secs:.1f} s = {n / secs:,.0f} req/s; {statuses}")

    print(f"\n## Origin alone ({results['origin_s']} s at full rate, no edge)\n")
    print(mix_table(results["origin"], results["origin_s"]))
    if results["origin"]["errors"]:
        print(f"errors: {results['origin']['errors']}")

    before, after, window = results["varnish"]
    print(f"\n## Through the edge ({results['edge_s']} s steady window after {args.warmup_seconds} s warm-up; "
          f"uploads at {args.upload_rate}/s)\n")
    print(mix_table(results["edge"], results["edge_s"]))
    if results["edge"]["errors"]:
        print(f"errors: {results['edge']['errors']}")
    windows = [("httpx readers", results["varnish"])]
    if "varnish_wrk" in results:
        windows.append(("wrk", results["varnish_wrk"]))
    names = ("MAIN.client_req", "MAIN.cache_hit", "MAIN.cache_miss", "MAIN.cache_hitpass", "MAIN.cache_hitmiss",
             "MAIN.s_pass", "MAIN.backend_req", "MAIN.n_lru_nuked")
    vrows = []
    for name in names:
        row = [name]
        for _, (b, a, w) in windows:
            row += [f"{delta(a, b, name):,}", f"{delta(a, b, name) / w:,.1f}"]
        vrows.append(row)
    hits = {}
    for label, (b, a, w) in windows:
        h, m = delta(a, b, "MAIN.cache_hit"), delta(a, b, "MAIN.cache_miss")
        hits[label] = 100 * h / (h + m) if h + m else float("nan")
    vrows.append(["hit ratio cache_hit/(hit+miss) %"] + sum(([f"{hits[l]:.3f}", ""] for l, _ in windows), []))
    print("\nvarnishstat over each window, uploads arriving in both (includes the writer's passes and the purge "
          "pollers):\n")
    print(_common.table(["counter", *sum(([f"{l} delta", "per s"] for l, (_, _, w) in windows), [])], vrows,
                        right=[False] + [True] * 2 * len(windows)))
    edge_hit = hits.get("wrk", hits["httpx readers"])
    hit_label = "wrk at full rate" if "wrk" in hits else "httpx readers"
    before, after, window = results["varnish"]

    uploads: list[Upload] = results["uploads"] + results.get("wrk_uploads", [])
    fresh = sorted(u.fresh_ms for u in uploads if u.fresh_ms is not None)
    print(f"\n## Purge-to-fresh ({len(uploads)} uploads; from the upload's 200 to the first edge read of the "
          "project's JSON page that lists the new file, polled every 20 ms)\n")
    prow = []
    for label, group in (("with httpx readers", results["uploads"]), ("with wrk", results.get("wrk_uploads", [])),
                         ("all", uploads)):
        f = sorted(u.fresh_ms for u in group if u.fresh_ms is not None)
        up = sorted(u.upload_s * 1000 for u in group)
        prow.append([label, len(group), _ms(up, 50), _ms(up, 99), _ms(f, 50), _ms(f, 99), _ms(f, 100)])
    print(_common.table(["load", "uploads", "upload p50 ms", "upload p99 ms", "fresh p50 ms", "fresh p99 ms",
                         "fresh max ms"], prow, right=[False] + [True] * 6))
    never = len(uploads) - len(fresh)
    if never:
        print(f"{never} uploads never showed up at the edge within 30 s")

    print("\n## Full rate with wrk (2 threads; the same Zipf mix as a 200,000-request URL list; uploads arriving "
          "during the edge run)\n")
    wrows = []
    for label, key in (("origin alone", "wrk_origin"), ("edge", "wrk_edge")):
        r = results.get(key)
        if r and "rps" in r:
            wrows.append([label, args.wrk_connections, f"{r.get('requests', 0):,}", f"{r['rps']:,.0f}",
                          r.get("50%", "-"), r.get("99%", "-"), r.get("non2xx", 0)])
    if wrows:
        print(_common.table(["target", "conns", "requests", "req/s", "p50", "p99", "non-2xx"], wrows,
                            right=[False, True, True, True, True, True, True]))
    else:
        print("wrk is not installed (apt-get install wrk): skipped")

    origin_rps = sum(map(len, results["origin"]["lat"].values())) / results["origin_s"]
    edge_rps = sum(map(len, results["edge"]["lat"].values())) / results["edge_s"]
    backend_rps = delta(after, before, "MAIN.backend_req") / window
    wo, we = results.get("wrk_origin") or {}, results.get("wrk_edge") or {}
    print("\n## Targets\n")
    rows = [
        [f"edge hit ratio (varnishstat, {hit_label})", f"≥ {TARGET_HIT}%", f"{edge_hit:.3f}%",
         "met" if edge_hit >= TARGET_HIT else "missed"],
        ["purge-to-fresh p99", f"< {TARGET_PURGE_P99_MS:.0f} ms", f"{_ms(fresh, 99)} ms",
         "met" if fresh and _common.percentile(fresh, 99) < TARGET_PURGE_P99_MS and not never else "missed"],
        ["edge ÷ origin req/s (httpx readers)", f"≥ {TARGET_RATIO:.0f}×",
         f"{edge_rps:,.0f} ÷ {origin_rps:,.0f} = {edge_rps / origin_rps:.1f}×",
         "met" if edge_rps / origin_rps >= TARGET_RATIO else "missed"],
    ]
    if "rps" in wo and "rps" in we:
        ratio = we["rps"] / wo["rps"]
        rows.append(["edge ÷ origin req/s (wrk)", f"≥ {TARGET_RATIO:.0f}×",
                     f"{we['rps']:,.0f} ÷ {wo['rps']:,.0f} = {ratio:.1f}×",
                     "met" if ratio >= TARGET_RATIO else "missed"])
    print(_common.table(["target", "goal", "measured", "verdict"], rows))
    print(f"\norigin requests during the edge window: {backend_rps:.1f}/s (varnishstat MAIN.backend_req)")


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--reader":
        spec = json.loads(Path(sys.argv[2]).read_text())
        Path(sys.argv[3]).write_text(json.dumps(asyncio.run(reader_main(spec))))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 projects and shorter windows")
    parser.add_argument("--database-url", help="postgresql+asyncpg://postgres@127.0.0.1/wheelhouse_bench_edge "
                        "(recreated, then dropped; name must contain 'bench'); default: SQLite in a temp dir")
    parser.add_argument("--projects", type=int, help="projects to seed (10,000; --quick 1,000)")
    parser.add_argument("--readers", type=int, default=2, help="reader processes (2)")
    parser.add_argument("--connections", type=int, default=8, help="connections per reader process (8)")
    parser.add_argument("--upload-rate", type=float, default=2.0, help="uploads per second during the edge run (2)")
    parser.add_argument("--wrk-connections", type=int, default=32)
    args = parser.parse_args()
    args.projects = args.projects or (1_000 if args.quick else 10_000)
    args.crawl_connections = 8
    args.origin_seconds, args.warmup_seconds, args.edge_seconds, args.wrk_seconds = \
        (8, 5, 20, 5) if args.quick else (15, 10, 60, 10)
    with _common.temp_dir("wheelhouse-bench-edge-") as tmp, \
            _common.bench_database(tmp, args.database_url) as database_url:  # outside the event loop
        asyncio.run(run(args, tmp, database_url))


if __name__ == "__main__":
    main()
