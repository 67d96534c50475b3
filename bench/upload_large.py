"""Benchmark one large wheel upload through ``POST /legacy/`` of one ``python -m services.upload`` process.

    .venv/bin/python bench/upload_large.py [--quick] [--size-mib 500] [--runs 3] [--database-url …]

What it does (see bench/README.md for the figures):

1. makes a temporary data dir, runs ``wheelhouse db upgrade``, creates a user with
   ``wheelhouse users create … --password-stdin`` and a token with ``wheelhouse tokens create``;
2. starts the upload service with ``WHEELHOUSE_MAX_FILE_SIZE`` raised above the wheel size,
   local file storage and the spool dir in the temp dir;
3. uploads a 1 MiB wheel first (warm-up: imports, connections), then per run builds a fresh
   valid wheel of ``--size-mib`` MiB (random, incompressible members, deflate at level 0 = the
   stored blocks any backend writes for such data, correct RECORD) and uploads it with the
   multipart form twine sends (``:action``, ``protocol_version``, ``metadata_version``, ``name``,
   ``version``, ``filetype``, ``pyversion``, ``sha256_digest``, ``blake2_256_digest``, ``summary``,
   then the ``content`` file part), Basic auth ``__token__``; the body is streamed from disk in
   1 MiB pieces with an explicit Content-Length, so the client never holds the file;
4. samples the server's VmRSS every 5 ms (and reads VmHWM after resetting it through
   ``/proc/<pid>/clear_refs``) and its CPU time, and times the request end to end: from the
   first byte sent to the response (the server answers only after the blob is fsynced in
   storage and the rows are committed).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import csv
import hashlib
import io
import os
import resource
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

_common.ensure_venv()

import httpx  # noqa: E402

MiB = 1024 * 1024
CHUNK = MiB
MEMBER_SIZE = 64 * MiB
NAME = "bench-large"
ESCAPED = "bench_large"
TARGET_RSS_GROWTH_MIB = 64
TARGET_MB_S = 100


# --- a valid wheel of any size, written in a stream ------------------------------------------------


def random_stream():  # noqa: ANN201
    """Incompressible bytes, fast: an AES-256-CTR keystream (``cryptography``), else ``os.urandom``."""
    try:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    except ImportError:
        return os.urandom
    encryptor = Cipher(algorithms.AES(os.urandom(32)), modes.CTR(os.urandom(16))).encryptor()
    zeros = bytes(CHUNK)
    return lambda n: encryptor.update(zeros[:n])


def _record_hash(digest: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def build_wheel(directory: Path, *, version: str, size: int) -> Path:
    """A valid wheel of about ``size`` bytes: random members of up to 64 MiB, METADATA, WHEEL, RECORD."""
    path = directory / f"{ESCAPED}-{version}-py3-none-any.whl"
    dist_info = f"{ESCAPED}-{version}.dist-info"
    record: list[tuple[str, str, int]] = []
    small = {
        f"{ESCAPED}/__init__.py": b'"""A large wheel built by bench/upload_large.py."""\n',
        f"{dist_info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {version}\n"
            "Summary: A large wheel built by the Wheelhouse benchmarks\nRequires-Python: >=3.9\n"
        ).encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: wheelhouse-bench 1.0\nRoot-Is-Purelib: true\n"
                              b"Tag: py3-none-any\n",
    }
    payload = max(size - 64 * 1024, 0)  # leave room for headers, the small files and RECORD
    random_bytes = random_stream()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=0) as archive:
        first = f"{ESCAPED}/__init__.py"
        _write_small(archive, first, small.pop(first), record)
        index = 0
        while payload > 0:
            member_size = min(MEMBER_SIZE, payload)
            name = f"{ESCAPED}/_data/blob_{index:03d}.bin"
            info = _info(name)
            sha = hashlib.sha256()
            with archive.open(info, "w") as out:
                left = member_size
                while left:
                    chunk = random_bytes(min(CHUNK, left))
                    sha.update(chunk)
                    out.write(chunk)
                    left -= len(chunk)
            record.append((name, _record_hash(sha.digest()), member_size))
            payload -= member_size
            index += 1
        for name, data in small.items():
            _write_small(archive, name, data, record)
        out_csv = io.StringIO()
        writer = csv.writer(out_csv, lineterminator="\n")
        writer.writerows(record)
        writer.writerow([f"{dist_info}/RECORD", "", ""])
        archive.writestr(_info(f"{dist_info}/RECORD"), out_csv.getvalue().encode())
    return path


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    # Level 0: stored deflate blocks, which is what any backend emits for random data, without
    # spending 30 s compressing. ZipInfo is __slots__-based; the attribute was renamed in 3.13.
    setattr(info, "compress_level" if hasattr(info, "compress_level") else "_compresslevel", 0)
    info.external_attr = 0o100644 << 16
    return info


def _write_small(archive: zipfile.ZipFile, name: str, data: bytes, record: list[tuple[str, str, int]]) -> None:
    archive.writestr(_info(name), data)
    record.append((name, _record_hash(hashlib.sha256(data).digest()), len(data)))


def file_digests(path: Path) -> tuple[str, str]:
    sha, b2 = hashlib.sha256(), hashlib.blake2b(digest_size=32)
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            sha.update(chunk)
            b2.update(chunk)
    return sha.hexdigest(), b2.hexdigest()


# --- twine's form, streamed -----------------------------------------------------------------------


@dataclass
class StreamedForm:
    content_type: str
    length: int
    head: bytes
    tail: bytes
    path: Path
    body_sent_at: float = 0.0

    async def body(self) -> AsyncIterator[bytes]:
        yield self.head
        with self.path.open("rb", buffering=0) as fh:
            while chunk := await asyncio.to_thread(fh.read, CHUNK):
                yield chunk
        yield self.tail
        self.body_sent_at = time.perf_counter()


def twine_form(path: Path, *, version: str) -> StreamedForm:
    sha256, blake2 = file_digests(path)
    fields = [
        (":action", "file_upload"), ("protocol_version", "1"), ("metadata_version", "2.1"), ("name", NAME),
        ("version", version), ("filetype", "bdist_wheel"), ("pyversion", "py3"), ("sha256_digest", sha256),
        ("blake2_256_digest", blake2), ("summary", "A large wheel built by the Wheelhouse benchmarks"),
    ]
    boundary = uuid.uuid4().hex
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields
    ) + (f'--{boundary}\r\nContent-Disposition: form-data; name="content"; filename="{path.name}"\r\n'
         "Content-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    length = len(head) + path.stat().st_size + len(tail)
    return StreamedForm(f"multipart/form-data; boundary={boundary}", length, head, tail, path)


# --- sampling the server --------------------------------------------------------------------------


class RssSampler(threading.Thread):
    def __init__(self, pid: int, interval: float = 0.005) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak = 0
        self.samples = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                rss = _common.proc_status(self.pid)["VmRSS"]
            except (OSError, KeyError):
                return
            self.peak = max(self.peak, rss)
            self.samples += 1
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds per live thread of ``pid`` (the main thread's id is ``pid``)."""
    result = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        result[int(tid)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return result


@dataclass
class Run:
    size: int
    seconds: float
    body_seconds: float
    rss_before: int
    rss_peak: int
    hwm_peak: int | None
    server_cpu: float
    main_thread_cpu: float
    samples: int
    status: int
    notes: list[str] = field(default_factory=list)

    @property
    def growth(self) -> int:
        return max(self.rss_peak, self.hwm_peak or 0) - self.rss_before

    @property
    def mb_s(self) -> float:
        return self.size / self.seconds / 1e6


async def upload(client: httpx.AsyncClient, server: _common.Server, path: Path, *, version: str,
                 token: str) -> Run:
    form = twine_form(path, version=version)
    await asyncio.sleep(0.3)  # let the server settle after the previous request
    before = _common.proc_status(server.pid)["VmRSS"]
    hwm_reset = _common.reset_peak_rss(server.pid)
    cpu0 = cpu_seconds(server.pid)
    main0 = thread_cpu(server.pid).get(server.pid, 0.0)
    sampler = RssSampler(server.pid)
    sampler.start()
    started = time.perf_counter()
    response = await client.post(
        "/legacy/", content=form.body(), auth=("__token__", token),
        headers={"Content-Type": form.content_type, "Content-Length": str(form.length)},
    )
    finished = time.perf_counter()
    sampler.stop()
    hwm = _common.proc_status(server.pid)["VmHWM"] if hwm_reset else None
    cpu = cpu_seconds(server.pid) - cpu0
    main_cpu = thread_cpu(server.pid).get(server.pid, 0.0) - main0
    if response.status_code != 200:
        raise RuntimeError(f"upload of {path.name} -> {response.status_code}: {response.text[:500]}")
    return Run(size=path.stat().st_size, seconds=finished - started, body_seconds=form.body_sent_at - started,
               rss_before=before, rss_peak=sampler.peak, hwm_peak=hwm, server_cpu=cpu, main_thread_cpu=main_cpu,
               samples=sampler.samples,
               status=response.status_code)


def stored_size(files_root: Path, filename: str) -> int | None:
    for found in files_root.rglob(filename):
        return found.stat().st_size
    return None


async def run(args: argparse.Namespace, tmp: Path) -> None:
    meter = _common.CpuMeter()
    data_dir, spool, build = tmp / "data", tmp / "spool", tmp / "build"
    for d in (data_dir, spool, build):
        d.mkdir()
    database_url = args.database_url or f"sqlite+aiosqlite:///{data_dir / 'wheelhouse.sqlite3'}"
    is_pg = database_url.startswith("postgresql")
    size = args.size_mib * MiB
    limit = size + 64 * MiB
    env = _common.base_env(
        data_dir, database_url, WHEELHOUSE_MAX_FILE_SIZE=str(limit),
        WHEELHOUSE_HARD_MAX_FILE_SIZE=str(max(limit, 1024 * MiB)), WHEELHOUSE_UPLOAD_TMP_DIR=str(spool),
        WHEELHOUSE_LOG_FORMAT="json",
    )
    if is_pg:
        await _common.create_pg_database(database_url)
    server = _common.Server(args.server_module, env, tmp / "upload.log")
    runs: list[Run] = []
    try:
        common = ("--data-dir", str(data_dir), "--database-url", database_url)
        _common.cli(env, "db", "upgrade", *common)
        _common.cli(env, "users", "create", "bench", "--email", "bench@example.org", "--password-stdin", *common,
                    input="bench-password-0123456789\n")
        token = _common.cli(env, "tokens", "create", "--user", "bench", *common).strip()
        server.start(probe="/legacy/")
        _common.say(f"upload service pid {server.pid} on {server.url}")
        async with httpx.AsyncClient(base_url=server.url, timeout=600, trust_env=False) as client:
            warm = build_wheel(build, version="0.0.1", size=1 * MiB)
            await upload(client, server, warm, version="0.0.1", token=token)
            warm.unlink()
            for i in range(args.runs):
                version = f"1.0.{i}"
                t0 = time.perf_counter()
                path = build_wheel(build, version=version, size=size)
                _common.say(f"run {i + 1}: built {path.name} ({path.stat().st_size / MiB:.1f} MiB) "
                            f"in {time.perf_counter() - t0:.1f} s; uploading …")
                result = await upload(client, server, path, version=version, token=token)
                stored = stored_size(data_dir / "files", path.name)
                if stored != result.size:
                    raise RuntimeError(f"stored blob has {stored} bytes, uploaded {result.size}")
                path.unlink()
                runs.append(result)
                _common.say(f"run {i + 1}: {result.mb_s:.0f} MB/s, RSS +{result.growth / MiB:.1f} MiB")
        leftovers = list(spool.iterdir())
        if leftovers:
            _common.say(f"warning: spool dir not empty after the uploads: {leftovers}")
    finally:
        server.stop()
        if is_pg:
            await _common.drop_pg_database(database_url)
    report(args, database_url, runs, load=meter.facts(), warning=meter.warning())


def report(args: argparse.Namespace, database_url: str, runs: list[Run], *, load: list[tuple[str, str]],
           warning: str) -> None:
    backend = "postgres" if database_url.startswith("postgresql") else "sqlite"
    print(f"# upload_large — {backend}, local file storage{' (quick)' if args.quick else ''}\n")
    print(_common.table(["machine", ""], _common.machine_facts(database_url) + load))
    if warning:
        print(warning)
    client_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"\nclient (this process) peak RSS: {client_peak / MiB:.0f} MiB — the body is streamed from disk\n")
    rows = []
    for i, r in enumerate(runs, 1):
        rows.append([
            i, f"{r.size / MiB:.1f}", f"{r.seconds:.2f}", f"{r.body_seconds:.2f}", f"{r.seconds - r.body_seconds:.2f}",
            f"{r.mb_s:.0f}", f"{r.size / r.seconds / MiB:.0f}", f"{r.server_cpu:.2f}",
            f"{r.main_thread_cpu:.2f}", f"{r.server_cpu - r.main_thread_cpu:.2f}",
            f"{r.rss_before / MiB:.1f}", f"{r.rss_peak / MiB:.1f}",
            "-" if r.hwm_peak is None else f"{r.hwm_peak / MiB:.1f}", f"{r.growth / MiB:.1f}", r.samples,
        ])
    print(_common.table(
        ["run", "MiB", "total s", "body sent s", "after body s", "MB/s", "MiB/s", "server CPU s",
         "event loop CPU s", "worker threads CPU s", "RSS before MiB", "RSS peak (sampled)", "VmHWM MiB",
         "growth MiB", "samples"],
        rows, right=[True] * 15))
    if runs:
        best = max(r.mb_s for r in runs)
        median = sorted(r.mb_s for r in runs)[len(runs) // 2]
        worst_growth = max(r.growth for r in runs) / MiB
        print(f"\nTargets: RSS growth < {TARGET_RSS_GROWTH_MIB} MiB: "
              f"{'met' if worst_growth < TARGET_RSS_GROWTH_MIB else 'missed'} (worst {worst_growth:.1f} MiB); "
              f"≥ {TARGET_MB_S} MB/s: {'met' if median >= TARGET_MB_S else 'missed'} "
              f"(median {median:.0f} MB/s, best {best:.0f} MB/s"
              + ("" if median >= TARGET_MB_S else f", {TARGET_MB_S / median:.2f}x short") + ")")
    print("\n'body sent' is when the client had written the last byte (the server reads it as it arrives);\n"
          "'after body' is the server's work once the body is in: archive inspection, the rename into storage\n"
          "with fsync, the .metadata blob, and the database transaction. 'event loop CPU' is the server's\n"
          "main thread (HTTP parsing, multipart, the app); 'worker threads' are asyncio.to_thread and\n"
          "aiosqlite (spool writes and the three digests, archive inspection, the storage move).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one run instead of three")
    parser.add_argument("--size-mib", type=int, default=500, help="wheel size in MiB (500)")
    parser.add_argument("--runs", type=int, help="uploads to measure (3; 1 with --quick)")
    parser.add_argument("--database-url", help="postgresql+asyncpg://postgres@127.0.0.1/wheelhouse_bench "
                        "(recreated, then dropped; name must contain 'bench'); default: SQLite in a temp dir")
    parser.add_argument("--server-module", default="services.upload",
                        help="module run as the server (python -m MODULE); for experiments only")
    args = parser.parse_args()
    args.runs = args.runs or (1 if args.quick else 3)
    with _common.temp_dir("wheelhouse-bench-upload-") as tmp:
        asyncio.run(run(args, tmp))


if __name__ == "__main__":
    main()
