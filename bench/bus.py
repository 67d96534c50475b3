"""Benchmark the event bus: commit-to-consumed latency on each adapter, and relay throughput.

    .venv/bin/python bench/bus.py [--quick]                # SQLite only (the database log, polling)
    .venv/bin/python bench/bus.py [--quick] --database-url postgresql+asyncpg://postgres@127.0.0.1/wheelhouse_bench_bus

Latency: this process commits one ``record_event`` per transaction at a steady rate while a
consumer runs in a process of its own (``ConsumerRunner.run_supervised``, as ``wheelhouse
worker`` runs it), on its own database connections; its handler notes ``time.monotonic()``
(one clock for every process on Linux) when it first sees each serial. Runs: the database log
on SQLite, polled every ``POLL_INTERVAL`` (0.2 s, as ``wheelhouse serve`` and ``worker`` do); with
``--database-url`` also the database log on Postgres (LISTEN/NOTIFY) and NATS JetStream
(journal -> ``wheelhouse worker relay`` process -> JetStream -> consumer process), on a private
``nats-server -js`` on a free port. Throughput (Postgres + NATS): N journal rows are bulk
inserted, then the relay publishes them to JetStream, a JetStream consumer drains them, and a
database-log consumer drains them, each timed in this process.
Target (issue "The event bus…"): p99 commit-to-consumed under 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    REPO,
    CpuMeter,
    base_env,
    bench_database,
    cli,
    ensure_venv,
    machine_facts,
    percentile,
    python,
    say,
    table,
    temp_dir,
)

ensure_venv()

from sqlalchemy import func, insert, select  # noqa: E402

from shared.config import SharedSettings  # noqa: E402
from shared.db import Database  # noqa: E402
from shared.events import Consumer, ConsumerRunner, CursorStore, DatabaseBus, Event, JournalAction, record_event  # noqa: E402
from shared.events.jetstream import JetStreamBus  # noqa: E402
from shared.events.log import POLL_INTERVAL  # noqa: E402
from shared.events.relay import RELAY_NAME, relay  # noqa: E402
from shared.schema import JournalEntry, Project  # noqa: E402
from tests.fixtures.nats_server import NatsServer  # noqa: E402

PROJECT = "bench-bus"
CONSUMER = "bench-latency"
TARGET_P99 = 1.0  # seconds
BATCH = 5000


# --- child processes ------------------------------------------------------------------------------


def settings_for(database_url: str, data_dir: Path, nats_url: str | None = None) -> SharedSettings:
    extra = {"bus": "nats", "nats_url": nats_url} if nats_url else {}
    return SharedSettings(data_dir=data_dir, database_url=database_url, **extra)


async def consumer_child(spec: dict) -> None:
    """The consuming process: one ConsumerRunner, run as ``wheelhouse worker`` runs one, until SIGTERM;
    then writes {serial: monotonic time first seen} to ``spec["out"]``."""
    settings = settings_for(spec["database_url"], Path(spec["data_dir"]), spec.get("nats_url"))
    db = Database.from_settings(settings, service_name="bench-consumer")
    bus = JetStreamBus(settings, db) if spec.get("nats_url") else DatabaseBus(db, poll_interval=spec["poll"])
    seen: dict[int, float] = {}

    async def handle(event: Event) -> None:
        seen.setdefault(event.serial, time.monotonic())

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runner = ConsumerRunner(Consumer(CONSUMER, handle), bus=bus)
    try:
        await runner.run_supervised(stop)  # idle_wait 1.0 s, as `wheelhouse worker`
    finally:
        await runner.aclose()
        await bus.aclose()
        await db.aclose()
        Path(spec["out"]).write_text(json.dumps(seen))


def start_child(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as fh:
        return subprocess.Popen([python(), *args], env=env, cwd=REPO, stdout=fh, stderr=subprocess.STDOUT)


def stop_child(process: subprocess.Popen, log: Path) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise RuntimeError(f"child did not stop on SIGTERM:\n{log.read_text()[-3000:]}") from None


# --- latency --------------------------------------------------------------------------------------


async def ensure_project(db: Database) -> int:
    async with db.write_session() as session:
        project_id = await session.scalar(select(Project.id).where(Project.name == PROJECT))
        if project_id is None:
            await session.execute(insert(Project).values(name=PROJECT, display_name=PROJECT, status="active",
                                                         last_serial=0, total_size=0, created=datetime.now(UTC)))
            project_id = await session.scalar(select(Project.id).where(Project.name == PROJECT))
        await session.commit()
        return int(project_id)


async def commit_one(db: Database, project_id: int, n: int) -> tuple[int, float, float, float]:
    """One upload's worth of journal: a FILE_ADDED event in its own transaction.
    Returns (serial, monotonic before, monotonic after the commit returned, wall clock after)."""
    before = time.monotonic()
    async with db.write_session() as session:
        serial = await record_event(
            session, JournalAction.FILE_ADDED, project_name=PROJECT, project_id=project_id, version="1.0",
            filename=f"bench_bus-1.0-{n}-py3-none-any.whl", actor="bench",
            payload={"sha256": f"{n:064x}", "size": 12345, "path": f"ab/cd/{n:064x}"})
        await session.commit()
    return serial, before, time.monotonic(), time.time()


async def wait_for_cursor(db: Database, name: str, serial: int, *, timeout: float,
                          process: subprocess.Popen | None = None, log: Path | None = None) -> bool:
    cursors, deadline = CursorStore(db), time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await cursors.position(name) >= serial:
            return True
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"consumer exited with {process.returncode}:\n{log.read_text()[-3000:] if log else ''}")
        await asyncio.sleep(0.05)
    return False


async def write_steadily(db: Database, project_id: int, *, rate: float, seconds: float) -> list[tuple]:
    commits, count = [], max(1, round(rate * seconds))
    start = time.monotonic() + 0.1
    for n in range(count):
        delay = start + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        commits.append(await commit_one(db, project_id, n))
    return commits


async def stream_times(nats_url: str, database_url: str, data_dir: Path, serials: set[int]) -> dict[int, float]:
    """Wall clock at which JetStream stored each serial (the server's timestamp of the message)."""
    settings = settings_for(database_url, data_dir, nats_url)
    db = Database.from_settings(settings, service_name="bench-inspect")
    bus = JetStreamBus(settings, db)
    try:
        jetstream = await bus.jetstream()
        state = (await jetstream.stream_info(bus.stream)).state
        times = {}
        start = await bus.sequence_after(min(serials) - 1)
        for seq in range(start, state.last_seq + 1):
            message = await jetstream.get_msg(bus.stream, seq=seq)
            serial = int((message.headers or {}).get("Nats-Msg-Id", 0))
            if serial in serials:
                times[serial] = message.time.timestamp()
        return times
    finally:
        await bus.aclose()
        await db.aclose()


def latency_run(label: str, database: str, wakeup: str, url: str, tmp: Path, *, rate: float, seconds: float,
                poll: float = POLL_INTERVAL, nats: NatsServer | None = None) -> dict:
    """One latency run; the consumer (and, on NATS, the relay) in processes of their own."""
    say(f"latency: {label} on {database} ({wakeup}), {rate:g}/s for {seconds:g} s")
    run_dir = tmp / label.replace(" ", "-").replace("/", "-") / database
    run_dir.mkdir(parents=True, exist_ok=True)
    env = base_env(run_dir, url)
    if nats is not None:
        env.update(WHEELHOUSE_BUS="nats", WHEELHOUSE_NATS_URL=nats.url)
    spec = {"database_url": url, "data_dir": str(run_dir), "poll": poll, "out": str(run_dir / "seen.json"),
            "nats_url": nats.url if nats else None}
    consumer_log, relay_log = run_dir / "consumer.log", run_dir / "relay.log"
    relay_process = None
    if nats is not None:
        relay_process = start_child(["-m", "services.cli.main", "worker", "relay"], env, relay_log)
    consumer = start_child([str(Path(__file__).resolve()), "--child", json.dumps(spec)], env, consumer_log)

    async def drive() -> tuple[list[tuple], bool]:
        db = Database.from_settings(settings_for(url, run_dir), service_name="bench-writer")
        try:
            project_id = await ensure_project(db)
            warm, *_ = await commit_one(db, project_id, -1)  # everything connected and caught up first
            if not await wait_for_cursor(db, CONSUMER, warm, timeout=60, process=consumer, log=consumer_log):
                raise RuntimeError(f"the consumer did not see the warm-up event within 60 s:\n"
                                   f"{consumer_log.read_text()[-3000:]}")
            commits = await write_steadily(db, project_id, rate=rate, seconds=seconds)
            caught_up = await wait_for_cursor(db, CONSUMER, commits[-1][0], timeout=30, process=consumer,
                                              log=consumer_log)
            return commits, caught_up
        finally:
            await db.aclose()

    try:
        commits, caught_up = asyncio.run(drive())
    finally:
        stop_child(consumer, consumer_log)
        if relay_process is not None:
            stop_child(relay_process, relay_log)
    seen = {int(k): v for k, v in json.loads(Path(spec["out"]).read_text()).items()}
    latencies = sorted(seen[s] - after for s, _, after, _ in commits if s in seen)
    commit_ms = sorted((after - before) * 1000 for _, before, after, _ in commits)
    result = {"label": label, "database": database, "wakeup": wakeup, "events": len(commits),
              "lost": sum(1 for s, *_ in commits if s not in seen), "caught_up": caught_up,
              "latencies": latencies, "commit_ms": commit_ms, "to_stream": None}
    if nats is not None:
        stored = asyncio.run(stream_times(nats.url, url, run_dir, {s for s, *_ in commits}))
        result["to_stream"] = sorted(stored[s] - wall for s, _, _, wall in commits if s in stored)
    return result


def ms(value: float) -> str:
    return f"{value * 1000:.0f}"


def latency_table(results: list[dict]) -> str:
    rows = []
    for r in results:
        lat, to_stream = r["latencies"], r["to_stream"]
        p99 = percentile(lat, 99)
        verdict = "met" if lat and r["lost"] == 0 and p99 < TARGET_P99 else "MISSED"
        rows.append((r["label"], r["database"], r["wakeup"], r["events"], r["lost"], ms(percentile(lat, 50)),
                     ms(p99), ms(lat[-1]) if lat else "-",
                     f"{ms(percentile(to_stream, 50))} / {ms(percentile(to_stream, 99))}" if to_stream else "-",
                     f"{percentile(r['commit_ms'], 50):.1f}", verdict))
    return table(("adapter", "database", "wake-up", "events", "lost", "p50 ms", "p99 ms", "max ms",
                  "commit→in stream p50/p99 ms", "commit ms p50", "p99 < 1 s"),
                 rows, right=(False, False, False, True, True, True, True, True, True, True, False))


# --- throughput -----------------------------------------------------------------------------------


async def prefill(db: Database, count: int) -> tuple[int, int]:
    """``count`` journal rows by bulk insert; returns (serial before them, last serial)."""
    async with db.write_session() as session:
        base = int(await session.scalar(select(func.max(JournalEntry.serial))) or 0)
        now = datetime.now(UTC)
        for start in range(0, count, BATCH):
            await session.execute(insert(JournalEntry), [
                {"action": "file_added", "project_name": PROJECT, "version": "1.0",
                 "filename": f"bench_bus-1.0-{n}-py3-none-any.whl", "actor": "bench",
                 "payload": {"sha256": f"{n:064x}", "size": 12345, "path": f"ab/cd/{n:064x}"}, "created": now}
                for n in range(start, min(start + BATCH, count))])
        last = int(await session.scalar(select(func.max(JournalEntry.serial))))
        await session.commit()
    assert last - base == count, (base, last, count)
    return base, last


async def drain(runner: ConsumerRunner, count: int) -> float:
    started, total = time.monotonic(), 0
    while total < count:
        total += await runner.run_once(timeout=1.0)
    return time.monotonic() - started


async def throughput(url: str, tmp: Path, nats: NatsServer, count: int) -> list[tuple]:
    settings = settings_for(url, tmp, nats.url)
    db = Database.from_settings(settings, service_name="bench-throughput")
    rows = []

    async def noop(event: Event) -> None:
        return None

    try:
        say(f"throughput: bulk-inserting {count:,} journal rows")
        base, last = await prefill(db, count)
        cursors = CursorStore(db)
        if await cursors.position(RELAY_NAME) < base:  # the relay starts right before the new rows
            await cursors.advance(RELAY_NAME, base)

        say("throughput: relay (in-process) publishing them to JetStream")
        async with relay(settings) as runner:
            seconds = await drain(runner, count)
        rows.append(("relay: journal (Postgres) → JetStream", f"{count:,}", f"{seconds:.1f}", f"{count / seconds:,.0f}"))

        for name, bus in (("JetStream consumer: drain", JetStreamBus(settings, db)),
                          ("database-log consumer (Postgres): drain", DatabaseBus(db))):
            consumer = f"bench-drain-{len(rows)}"
            await cursors.advance(consumer, base)
            say(f"throughput: {name}")
            runner = ConsumerRunner(Consumer(consumer, noop), bus=bus)  # batch_size 100, as the search indexer
            try:
                seconds = await drain(runner, count)
            finally:
                await runner.aclose()
                await bus.aclose()
            assert await cursors.position(consumer) == last
            rows.append((name, f"{count:,}", f"{seconds:.1f}", f"{count / seconds:,.0f}"))

        say("throughput: JetStream publish alone")
        n = min(count, 2000)
        other = settings.model_copy(update={"nats_stream": "BENCH_PUBLISH", "nats_subject": "bench.publish"})
        publisher = JetStreamBus(other, db)
        try:
            event = Event(serial=0, action="file_added", project=PROJECT, version="1.0", filename="x.whl",
                          payload={"sha256": "0" * 64, "size": 12345, "path": "ab/cd/" + "0" * 64}, actor="bench",
                          created=datetime.now(UTC))
            await publisher.jetstream()  # connected and the stream made, outside the timing
            started = time.monotonic()
            for serial in range(1, n + 1):
                await publisher.publish(dataclasses.replace(event, serial=serial))
            seconds = time.monotonic() - started
        finally:
            await publisher.aclose()
        rows.append(("JetStreamBus.publish alone (awaited one by one)", f"{n:,}", f"{seconds:.1f}", f"{n / seconds:,.0f}"))

        say("throughput: CursorStore.advance alone")
        n, started = min(count, 1000), time.monotonic()
        for serial in range(base + 1, base + n + 1):
            await cursors.advance("bench-advance", serial)
        seconds = time.monotonic() - started
        rows.append(("CursorStore.advance alone (one commit per ack)", f"{n:,}", f"{seconds:.1f}", f"{n / seconds:,.0f}"))
    finally:
        await db.aclose()
    return rows


# --- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s of writes a run, 2,000 events for throughput")
    parser.add_argument("--rate", type=float, default=20.0, help="events committed per second (latency)")
    parser.add_argument("--seconds", type=float, help="seconds of writes per latency run (default 15, quick 5)")
    parser.add_argument("--events", type=int, help="journal rows for the throughput runs (default 20,000, quick 2,000)")
    parser.add_argument("--database-url", help="Postgres (name must contain 'bench'): adds Postgres and NATS")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(consumer_child(json.loads(args.child)))
        return
    seconds = args.seconds or (5.0 if args.quick else 15.0)
    events = args.events or (2_000 if args.quick else 20_000)
    if args.database_url and not args.database_url.startswith("postgresql"):
        raise SystemExit("--database-url must be a postgresql+asyncpg:// URL")

    meter = CpuMeter()
    results, throughput_rows, nats_version, facts = [], [], "", []
    with temp_dir("wheelhouse-bench-bus") as tmp:
        sqlite_url = f"sqlite+aiosqlite:///{tmp / 'bus.sqlite3'}"
        cli(base_env(tmp, sqlite_url), "db", "upgrade")
        results.append(latency_run("database log", "SQLite", f"poll {POLL_INTERVAL:g} s (serve and worker)",
                                   sqlite_url, tmp, rate=args.rate, seconds=seconds))
        if args.database_url:
            with bench_database(tmp, args.database_url) as url:
                cli(base_env(tmp, url), "db", "upgrade")
                facts = machine_facts(url)  # while the database exists (its server version)
                results.append(latency_run("database log", "Postgres", "LISTEN/NOTIFY", url, tmp,
                                           rate=args.rate, seconds=seconds))
                nats = NatsServer(tmp / "nats", log=tmp / "nats.log")
                nats_version = nats.version()
                nats.start()
                try:
                    results.append(latency_run("NATS JetStream", "Postgres",
                                               "relay: LISTEN/NOTIFY; consumer: pull", url, tmp,
                                               rate=args.rate, seconds=seconds, nats=nats))
                    throughput_rows = asyncio.run(throughput(url, tmp, nats, events))
                finally:
                    nats.stop()

    facts = facts or machine_facts()
    if nats_version:
        facts.append(("nats-server", nats_version))
    from importlib.metadata import version
    facts.append(("nats-py", version("nats-py")))
    facts.extend(meter.facts())
    print()
    print(table(("machine", ""), facts))
    print(meter.warning())
    print()
    print(f"Commit-to-consumed latency: one FILE_ADDED record_event per transaction at {args.rate:g}/s for "
          f"{seconds:g} s; consumer in its own process (run_supervised, idle_wait 1 s, batch 100)"
          + ("; relay = `wheelhouse worker relay`" if args.database_url else "") + ".")
    print("latency = consumer handler's time.monotonic() − the writer's, when its commit returned. "
          "commit ms = record_event + commit, seen by the writer.")
    print()
    print(latency_table(results))
    not_caught = [f"{r['label']} on {r['database']}" for r in results if not r["caught_up"]]
    if not_caught:
        print(f"\nNOT caught up within 30 s of the last commit: {', '.join(not_caught)}")
    if throughput_rows:
        print()
        print(f"Throughput: {events:,} journal rows bulk-inserted beforehand; each line timed in-process, from the "
              "first fetch to the last acknowledgement.")
        print()
        print(table(("stage", "events", "seconds", "events/s"), throughput_rows, right=(False, True, True, True)))
    elif not args.database_url:
        print("\n(Postgres, NATS JetStream and relay throughput need --database-url.)")


if __name__ == "__main__":
    main()
