"""Helpers shared by the benchmarks: processes, ports, /proc sampling, machine facts, tables.

Nothing here is imported by the application; the benchmarks only start the real
entry points (``python -m services.<svc>``, ``wheelhouse …``) as subprocesses.
"""

from __future__ import annotations

import math
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parents[1]
VENV_PYTHON = REPO / ".venv" / "bin" / "python"


def ensure_venv() -> None:
    """Re-run this script under the project's virtualenv when started with another interpreter."""
    if VENV_PYTHON.exists() and Path(sys.prefix).resolve() != (REPO / ".venv").resolve():
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), *sys.argv])
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))


def python() -> str:
    return sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(data_dir: Path, database_url: str | None, **extra: str) -> dict[str, str]:
    """The environment of every child: ours without WHEELHOUSE_* / proxy variables, plus the benchmark's settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("WHEELHOUSE_") and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["WHEELHOUSE_DATA_DIR"] = str(data_dir)
    if database_url:
        env["WHEELHOUSE_DATABASE_URL"] = database_url
    env.update(extra)
    return env


def cli(env: dict[str, str], *args: str, input: str | None = None) -> str:
    """Run ``wheelhouse ARGS`` (as ``python -m services.cli.main``); return stdout, raise on failure."""
    result = subprocess.run([python(), "-m", "services.cli.main", *args], env=env, cwd=REPO, input=input,
                            text=True, capture_output=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"wheelhouse {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@dataclass
class Server:
    """One uvicorn process started with ``python -m <module>``."""

    module: str
    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, *, probe: str, timeout: float = 60) -> None:
        import httpx

        env = {**self.env, "WHEELHOUSE_HOST": "127.0.0.1", "WHEELHOUSE_PORT": str(self.port)}
        log = self.log_path.open("ab")
        self.process = subprocess.Popen([python(), "-m", self.module], env=env, cwd=REPO, stdout=log,
                                        stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.module} exited early:\n{self.log_path.read_text()[-4000:]}")
            try:
                httpx.get(self.url + probe, timeout=2, trust_env=False)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.module} did not answer within {timeout} s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            self.process = None
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


@contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --- /proc ---------------------------------------------------------------------------------------


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM / … of ``pid`` in bytes."""
    values: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            if key.startswith("Vm") or key.startswith("Rss"):
                parts = rest.split()
                if len(parts) == 2 and parts[1] == "kB":
                    values[key] = int(parts[0]) * 1024
    return values


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux: write 5 to clear_refs); False when not allowed."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


# --- machine --------------------------------------------------------------------------------------


def machine_facts(database_url: str | None = None) -> list[tuple[str, str]]:
    import sqlite3

    cpu = "?"
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_total = "?"
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem_total = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    facts = [
        ("cpus (nproc)", str(os.cpu_count())),
        ("cpu model", cpu),
        ("memory", mem_total),
        ("kernel", platform.release()),
        ("python", platform.python_version()),
        ("sqlite", sqlite3.sqlite_version),
    ]
    for module in ("uvicorn", "uvloop", "httptools"):
        try:
            version = __import__(module).__version__
        except ImportError:
            version = "not installed"
        facts.append((module, version))
    if database_url and database_url.startswith("postgresql"):
        facts.append(("postgres", postgres_version(database_url)))
    return facts


def postgres_version(database_url: str) -> str:
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    import asyncpg

    async def main() -> str:
        conn = await asyncpg.connect(asyncpg_dsn(database_url))
        try:
            return str(await conn.fetchval("show server_version"))
        finally:
            await conn.close()

    try:  # in a thread of its own: callers may already be inside an event loop
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, main()).result()
    except Exception as exc:  # noqa: BLE001 - informational only
        return f"? ({exc})"


def asyncpg_dsn(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _admin_dsn(database_url: str) -> tuple[str, str]:
    from sqlalchemy.engine import make_url

    parsed = make_url(database_url)
    admin = parsed.set(database="postgres").render_as_string(hide_password=False)
    return asyncpg_dsn(admin), parsed.database or ""


async def create_pg_database(database_url: str) -> None:
    """(Re)create the benchmark's own Postgres database; refuses names without 'bench'."""
    import asyncpg

    admin, name = _admin_dsn(database_url)
    if "bench" not in name:
        raise SystemExit(f"refusing to recreate database {name!r}: its name must contain 'bench'")
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_pg_database(database_url: str) -> None:
    import asyncpg

    admin, name = _admin_dsn(database_url)
    if "bench" not in name:
        return
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


# --- numbers and tables ---------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, right: Sequence[bool] | None = None) -> str:
    """A plain-text table (also valid Markdown)."""
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    right = right or [False] * len(headers)

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row, widths, right)) + " |"

    sep = "|" + "|".join(("-" * (w + 1) + ":") if r else ("-" * (w + 2)) for w, r in zip(widths, right)) + "|"
    return "\n".join([line(cells[0]), sep, *(line(row) for row in cells[1:])])


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- how busy the machine was --------------------------------------------------------------------


def _proc_stat() -> tuple[int, int]:
    with open("/proc/stat") as fh:
        fields = [int(v) for v in fh.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields[:8]) - idle, sum(fields[:8])


def _own_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _postgres_cpu_seconds() -> float:
    """CPU of every ``postgres`` process: live ones, plus (through the postmaster's cutime/cstime)
    the backends that already exited."""
    tick = os.sysconf("SC_CLK_TCK")
    procs: dict[int, tuple[int, list[int]]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                raw = fh.read()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        if comm != "postgres":
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        procs[int(entry)] = (int(fields[1]), [int(v) for v in fields[11:15]])
    total = 0
    for ppid, (utime, stime, cutime, cstime) in procs.values():
        total += utime + stime
        if ppid not in procs:  # the postmaster: add its reaped children
            total += cutime + cstime
    return total / tick


NOISE_WARNING_CPUS = 0.25


class CpuMeter:
    """Machine-wide CPU use over a run, split into this benchmark (itself and its waited-for
    children: servers, CLI) and everything else on the machine (noise)."""

    def __init__(self) -> None:
        self.loadavg = open("/proc/loadavg").read().split()[0]
        self.start = _proc_stat()
        self.own = _own_cpu_seconds()
        self.postgres = _postgres_cpu_seconds()
        self.wall = time.monotonic()

    def facts(self) -> list[tuple[str, str]]:
        busy0, total0 = self.start
        busy1, total1 = _proc_stat()
        ncpu = os.cpu_count() or 1
        wall = time.monotonic() - self.wall
        machine = (busy1 - busy0) / max(total1 - total0, 1) * ncpu
        own = (_own_cpu_seconds() - self.own) / wall
        postgres = (_postgres_cpu_seconds() - self.postgres) / wall
        self.noise = max(machine - own - postgres, 0)
        return [
            ("load average (1 min) at the start", self.loadavg),
            ("CPUs busy during the run (machine)", f"{machine:.2f} of {ncpu}"),
            ("… used by this benchmark (driver + servers)", f"{own:.2f}"),
            ("… used by Postgres (all its processes)", f"{postgres:.2f}"),
            ("… used by other processes (noise)", f"{self.noise:.2f}"),
        ]

    def warning(self) -> str:
        """A line to print when other processes competed for the CPUs (call after ``facts``)."""
        if getattr(self, "noise", 0) < NOISE_WARNING_CPUS:
            return ""
        return (f"\nWARNING: other processes used {self.noise:.2f} CPUs during the run: these figures are not "
                "representative of this machine. Run again when it is idle.")


@contextmanager
def bench_database(tmp: Path, database_url: str | None) -> Iterator[str]:
    """SQLite in ``tmp``, or a fresh Postgres database (its name must contain "bench"), dropped afterwards."""
    if not database_url:
        yield f"sqlite+aiosqlite:///{tmp / 'bench.sqlite3'}"
        return
    if "bench" not in database_url.rsplit("/", 1)[-1]:
        raise SystemExit("the Postgres database name must contain 'bench' (it is dropped at the end)")
    import asyncio

    asyncio.run(create_pg_database(database_url))
    try:
        yield database_url
    finally:
        asyncio.run(drop_pg_database(database_url))
