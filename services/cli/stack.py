"""``wheelhouse stack up``, the local stack: the Kubernetes deployment's shape on one machine.

Each service as its own uvicorn process (``python -m services.<svc>``), each worker as its own
``wheelhouse worker NAME``, and varnishd in front on one port, over Postgres, NATS JetStream
and an S3-protocol server: the machine's Postgres (a database created if missing), a private
``nats-server -js``, and moto's S3 server unless an endpoint is given. Every process gets its
settings from ``WHEELHOUSE_*`` variables only, as in a pod. Runs until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from shared.edge.varnish import SERVICES, Origin, Varnishd
from shared.net import free_port

WORKERS = ("relay", "search-indexer", "purger")
DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1/wheelhouse_stack"


@dataclass
class Process:
    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    ready_url: str | None = None
    metrics_port: int | None = None
    popen: subprocess.Popen[bytes] | None = None

    def start(self, *, wait: float = 60.0) -> None:
        with self.log.open("ab") as log:
            self.popen = subprocess.Popen(self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        if self.ready_url is None:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log}:\n{self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.ready_url, timeout=1, trust_env=False).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} was not ready within {wait:g} s; see {self.log}")

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()  # SIGTERM: uvicorn and the workers shut down gracefully
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


@dataclass
class Stack:
    """Start with ``with Stack(...) as stack:``; ``stack.url`` is the edge."""

    data_dir: Path
    port: int = 8080
    database_url: str = DEFAULT_DATABASE_URL
    s3_endpoint_url: str | None = None  # None: moto's server, started here
    secret_key: str | None = None
    processes: list[Process] = field(default_factory=list)
    edge: Varnishd | None = None
    settings: dict[str, str] = field(default_factory=dict)  # more WHEELHOUSE_* variables for every process
    env: dict[str, str] = field(default_factory=dict)  # what every process of the stack was given
    _exit: ExitStack = field(default_factory=ExitStack)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Stack:
        try:
            self._start()
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self._exit.close()

    def _start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        logs = self.data_dir / "logs"
        logs.mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("WHEELHOUSE_")}
        env.update(WHEELHOUSE_DATA_DIR=str(self.data_dir), WHEELHOUSE_DATABASE_URL=self.database_url,
                   WHEELHOUSE_LOG_FORMAT="json", WHEELHOUSE_BUS="nats",
                   WHEELHOUSE_SECRET_KEY=self.secret_key or _stack_secret(self.data_dir),
                   WHEELHOUSE_EDGE_PURGE_URLS=json.dumps([self.url]), NO_PROXY="127.0.0.1,localhost")
        env.update(self.settings)
        _ensure_postgres_database(self.database_url)

        nats_port = free_port()
        nats = shutil.which("nats-server") or "/usr/sbin/nats-server"
        self._spawn(Process("nats", [nats, "-js", "-a", "127.0.0.1", "-p", str(nats_port), "-sd",
                                     str(self.data_dir / "nats")], env, logs / "nats.log"), wait_port=nats_port)
        env["WHEELHOUSE_NATS_URL"] = f"nats://127.0.0.1:{nats_port}"

        endpoint = self.s3_endpoint_url
        if endpoint is None:
            moto = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
            if not Path(moto).exists():
                raise RuntimeError("no S3 endpoint: pass --s3-endpoint-url, or install moto (pip install 'moto[server]')")
            moto_port = free_port()
            self._spawn(Process("s3", [moto, "-H", "127.0.0.1", "-p", str(moto_port)], env, logs / "s3.log",
                                ready_url=f"http://127.0.0.1:{moto_port}/"))
            endpoint = f"http://127.0.0.1:{moto_port}"
            env.update(WHEELHOUSE_S3_ACCESS_KEY_ID="stack", WHEELHOUSE_S3_SECRET_ACCESS_KEY="stack")
            bucket = "wheelhouse"
            httpx.put(f"{endpoint}/{bucket}", trust_env=False).raise_for_status()
        else:
            bucket = os.environ.get("WHEELHOUSE_STACK_BUCKET", "wheelhouse")
        env.update(WHEELHOUSE_S3_ENDPOINT_URL=endpoint, WHEELHOUSE_STORAGE_URL=f"s3://{bucket}")

        wheelhouse = [sys.executable, "-m", "services.cli.main"]
        migrate = subprocess.run([*wheelhouse, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=300)
        if migrate.returncode != 0:
            raise RuntimeError(f"wheelhouse db upgrade failed: {migrate.stderr}")

        origins = {}
        for service in SERVICES:  # each with its metrics on a port of its own, as in a pod
            port, metrics = free_port(), free_port()
            self._spawn(Process(service, [sys.executable, "-m", f"services.{service}"],
                                {**env, "WHEELHOUSE_PORT": str(port), "WHEELHOUSE_METRICS_PORT": str(metrics)},
                                logs / f"{service}.log", ready_url=f"http://127.0.0.1:{port}/readyz",
                                metrics_port=metrics))
            origins[service] = Origin("127.0.0.1", port)
        for worker in WORKERS:
            metrics = free_port()
            self._spawn(Process(worker, [*wheelhouse, "worker", worker], {**env, "WHEELHOUSE_METRICS_PORT": str(metrics)},
                                logs / f"{worker}.log", ready_url=f"http://127.0.0.1:{metrics}/metrics",
                                metrics_port=metrics))
        self.edge = Varnishd(self.data_dir / "varnish", origins, port=self.port)
        self.edge.start()
        self._exit.callback(self.edge.stop)
        self.env = env

    def process(self, name: str) -> Process:
        return next(process for process in self.processes if process.name == name)

    def _spawn(self, process: Process, *, wait_port: int | None = None) -> None:
        process.start()
        self._exit.callback(process.stop)
        self.processes.append(process)
        if wait_port is not None:
            deadline = time.monotonic() + 20
            while True:
                try:
                    socket.create_connection(("127.0.0.1", wait_port), timeout=0.5).close()
                    return
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{process.name} did not listen; see {process.log}") from None
                    time.sleep(0.05)


def _stack_secret(data_dir: Path) -> str:
    """One key for every process of the stack, kept in its data directory."""
    path = data_dir / "secret_key"
    if not path.exists():
        path.write_text(uuid.uuid4().hex + uuid.uuid4().hex)
        path.chmod(0o600)
    return path.read_text().strip()


def _ensure_postgres_database(url: str) -> None:
    """Create the stack's database on the Postgres server if it is not there."""
    import asyncio

    import asyncpg

    parts = urlsplit(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    if parts.scheme != "postgresql":
        raise RuntimeError("the local stack runs on Postgres: give a postgresql+asyncpg:// URL")
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise RuntimeError(f"database name {name!r}: use letters, digits and underscores")

    async def ensure() -> None:
        admin = await asyncpg.connect(parts._replace(path="/postgres").geturl())
        try:
            if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()

    asyncio.run(ensure())


def run(args: argparse.Namespace) -> int:
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    stack = Stack(Path(args.data_dir).resolve(), port=args.port, database_url=args.database_url or DEFAULT_DATABASE_URL,
                  s3_endpoint_url=args.s3_endpoint_url)
    try:
        with stack:
            print(f"Wheelhouse stack at {stack.url}/ (simple index {stack.url}/simple/, uploads {stack.url}/legacy/)")
            print(f"processes: {', '.join(p.name for p in stack.processes)}, varnishd; logs in {stack.data_dir / 'logs'}")
            print("Ctrl-C to stop.", flush=True)
            stopping.wait()
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
