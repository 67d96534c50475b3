"""Operating the local stack as Kubernetes would: health, metrics by route template, JSON logs
with the request id, and a rolling restart of the upload service in the middle of a large upload."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from services.cli.stack import Process, Stack
from tests.e2e.conftest import BIN, Server, client_env, free_port, start, stop
from tests.factories.uploads import subdir, twine_fields
from tests.upload.validation.builders import build_wheel

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

DRAIN = 2.0  # seconds /readyz fails before the listener closes (Kubernetes: the preStop sleep)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, e2e_database_url: str) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("ops")
    with Stack(tmp / "stack", port=free_port(), database_url=e2e_database_url,
               settings={"WHEELHOUSE_SHUTDOWN_DRAIN": str(DRAIN)}) as running:
        yield running


@pytest.fixture(scope="module")
def server(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Server:
    tmp = tmp_path_factory.mktemp("ops-cli")
    return Server(url=stack.url, env={**client_env(), **stack.env}, log_path=tmp / "unused.log", tmp=tmp)


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    return server.user_token("operator")


def scrape(process: Process) -> str:
    return httpx.get(f"http://127.0.0.1:{process.metrics_port}/metrics", trust_env=False).text


def sample(metrics: str, name: str, **labels: str) -> float | None:
    """The value of the one series of ``name`` whose labels include ``labels``."""
    for line in metrics.splitlines():
        match = re.fullmatch(rf"{re.escape(name)}(?:\{{(.*)\}})? (\S+)", line)
        if match is None:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(1) or ""))
        if all(found.get(key) == value for key, value in labels.items()):
            return float(match.group(2))
    return None


def logged_request(process: Process, request_id: str) -> dict:
    """The one ``request`` log line of the request ``request_id`` (JSON lines on the process's stdout)."""
    deadline = time.monotonic() + 5
    while True:
        lines = [json.loads(line) for line in process.log.read_text().splitlines() if request_id in line]
        found = [entry for entry in lines if entry.get("event") == "request"]
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    [line] = found
    return line


def origin(stack: Stack, service: str) -> str:
    assert stack.edge is not None
    return f"http://127.0.0.1:{stack.edge.origins[service].port}"


class TestHealth:
    def test_every_service_is_live_and_ready(self, stack: Stack) -> None:
        for service in ("upload", "simple", "search", "accounts"):
            assert httpx.get(origin(stack, service) + "/livez", trust_env=False).status_code == 200
            ready = httpx.get(origin(stack, service) + "/readyz", trust_env=False)
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"]["database"] == "ok"
            assert ready.headers["Cache-Control"] == "no-store"
        assert httpx.get(origin(stack, "upload") + "/readyz", trust_env=False).json()["checks"]["storage"] == "ok"
        assert httpx.get(origin(stack, "search") + "/readyz", trust_env=False).json()["checks"]["search"] == "ok"


class TestMetricsAndLogs:
    def test_a_request_is_counted_and_logged_under_its_route_template(self, stack: Stack) -> None:
        request_id = uuid.uuid4().hex
        name = f"No-Such.Project-{uuid.uuid4().hex[:8]}"
        response = httpx.get(f"{stack.url}/simple/{name}/", trust_env=False,
                             headers={"X-Request-ID": request_id, "X-Forwarded-For": "203.0.113.9"})
        assert response.status_code == 404 and response.headers["X-Request-ID"] == request_id

        metrics = scrape(stack.process("simple"))
        count = sample(metrics, "wheelhouse_http_requests_total", service="simple", method="GET",
                       route="/simple/{name}/", status="404")
        assert count is not None and count >= 1
        assert sample(metrics, "wheelhouse_http_request_duration_seconds_count", service="simple",
                      route="/simple/{name}/") is not None
        assert name.lower() not in metrics.lower()  # never the raw path, never a project name
        assert sample(metrics, "wheelhouse_db_pool_size", service="simple", role="read") is not None

        line = logged_request(stack.process("simple"), request_id)
        assert line["route"] == "/simple/{name}/" and line["status"] == 404
        assert line["client"] == "203.0.113.9"  # the edge (127.0.0.1) is a trusted proxy by default
        assert line["service"] == "simple" and line["request_id"] == request_id and "timestamp" in line

    def test_uploads_purges_and_consumer_lag_are_measured(
        self, stack: Stack, server: Server, token: str, tmp_path: Path
    ) -> None:
        wheel = build_wheel(subdir(tmp_path, "w"), name="measured", version="1.0")
        response = post_upload(stack.url, token, wheel)
        assert response.status_code == 200, response.text
        uploaded = sample(scrape(stack.process("upload")), "wheelhouse_upload_bytes_total")
        assert uploaded is not None and uploaded >= wheel.stat().st_size
        deadline = time.monotonic() + 15
        while True:
            purges = sample(scrape(stack.process("purger")), "wheelhouse_edge_purges_total", outcome="ok")
            if (purges or 0) >= 1 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert purges is not None and purges >= 1
        lag = sample(scrape(stack.process("search-indexer")), "wheelhouse_consumer_lag_serials",
                     consumer="search-indexer")
        assert lag is not None


def upload_body(token: str, wheel: Path) -> tuple[bytes, dict[str, str]]:
    """twine's multipart form for ``wheel``, as bytes, and its headers."""
    request = httpx.Request("POST", "http://x/legacy/", data=twine_fields(wheel),
                            files={"content": (wheel.name, wheel.read_bytes(), "application/octet-stream")})
    body = request.read()
    auth = httpx.BasicAuth("__token__", token)
    headers = {"Content-Type": request.headers["Content-Type"], "Content-Length": str(len(body)),
               "Authorization": next(auth.auth_flow(httpx.Request("GET", "http://x/"))).headers["Authorization"]}
    return body, headers


def post_upload(url: str, token: str, wheel: Path) -> httpx.Response:
    body, headers = upload_body(token, wheel)
    return httpx.post(url + "/legacy/", content=body, headers=headers, trust_env=False, timeout=120)


def big_wheel(tmp_path: Path, name: str, size: int) -> Path:
    """A wheel of about ``size`` bytes (incompressible content)."""
    return build_wheel(subdir(tmp_path, name), name=name, version="1.0",
                       files={f"{name}/blob.bin": os.urandom(size)})


class SlowUpload(threading.Thread):
    """Sends a large upload in small chunks, so that it is in flight for ``seconds``; keeps the answer
    (or the error the connection ended with)."""

    def __init__(self, url: str, token: str, wheel: Path, *, seconds: float) -> None:
        super().__init__(daemon=True)
        self.body, self.headers = upload_body(token, wheel)
        self.url, self.seconds = url, seconds
        self.sent = 0
        self.response: httpx.Response | None = None
        self.error: Exception | None = None

    def chunks(self) -> Iterator[bytes]:
        size = 64 * 1024
        pause = self.seconds / (len(self.body) / size)
        for start in range(0, len(self.body), size):
            yield self.body[start:start + size]
            self.sent = start + size
            time.sleep(pause)

    def run(self) -> None:
        try:
            self.response = httpx.post(self.url + "/legacy/", content=self.chunks(), headers=self.headers,
                                       trust_env=False, timeout=120)
        except httpx.HTTPError as exc:
            self.error = exc

    def wait_until_sent(self, fraction: float) -> None:
        deadline = time.monotonic() + 30
        while self.sent < len(self.body) * fraction:
            assert time.monotonic() < deadline, "the upload did not start"
            time.sleep(0.01)


def restart(process: Process, **settings: str) -> None:
    """Start the service again on its port (a new pod taking the old one's place)."""
    process.stop()
    process.env = {**process.env, **settings}
    process.start()


def edge_sends_uploads_again(stack: Stack, *, deadline: float = 15.0) -> None:
    """Until the edge's probe of /readyz finds the restarted upload service healthy (before that,
    the edge answers an upload 503 itself)."""
    end = time.monotonic() + deadline
    while httpx.post(stack.url + "/legacy/", trust_env=False).status_code == 503:
        assert time.monotonic() < end, "the edge still finds the upload service unhealthy"
        time.sleep(0.2)


def test_only_the_listed_proxies_are_believed(stack: Stack) -> None:
    """WHEELHOUSE_FORWARDED_ALLOW_IPS not naming the edge: its X-Forwarded-For is ignored, and
    the client address is the edge's own (no client can pick the address rate limits see)."""
    simple = stack.process("simple")
    restart(simple, WHEELHOUSE_FORWARDED_ALLOW_IPS="192.0.2.1")
    try:
        request_id = uuid.uuid4().hex
        httpx.get(origin(stack, "simple") + "/simple/", trust_env=False,
                  headers={"X-Request-ID": request_id, "X-Forwarded-For": "203.0.113.9"})
        assert logged_request(simple, request_id)["client"] == "127.0.0.1"
    finally:
        restart(simple, WHEELHOUSE_FORWARDED_ALLOW_IPS="127.0.0.1")


class TestRollingRestartOfTheUploadService:
    """SIGTERM reaches the upload service in the middle of a large upload, as in a rolling update."""

    def test_the_upload_in_flight_completes_and_readiness_fails_first(
        self, stack: Stack, server: Server, token: str, tmp_path: Path
    ) -> None:
        upload = stack.process("upload")
        wheel = big_wheel(tmp_path, "survivor", 8 * 1024 * 1024)
        sending = SlowUpload(origin(stack, "upload"), token, wheel, seconds=DRAIN + 3)
        sending.start()
        sending.wait_until_sent(0.2)
        assert upload.popen is not None
        upload.popen.send_signal(signal.SIGTERM)

        ready = httpx.get(origin(stack, "upload") + "/readyz", trust_env=False)  # the listener is still open
        assert ready.status_code == 503 and ready.json()["checks"] == {"process": "shutting down"}
        assert sending.is_alive()  # readiness failed while the upload was still arriving
        time.sleep(DRAIN + 0.5)
        with pytest.raises(httpx.ConnectError):  # no new request is taken once the drain is over
            httpx.get(origin(stack, "upload") + "/livez", trust_env=False, timeout=2)

        sending.join(60)
        assert sending.error is None and sending.response is not None
        assert sending.response.status_code == 200, sending.response.text
        assert upload.popen.wait(30) is not None  # and then the process ended
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        page = httpx.get(f"{stack.url}/simple/survivor/", headers={"Accept": "application/vnd.pypi.simple.v1+json"},
                         trust_env=False).json()
        assert [file["hashes"]["sha256"] for file in page["files"]] == [digest]
        restart(upload)

    def test_an_upload_past_the_grace_period_is_refused_and_nothing_is_stored(
        self, stack: Stack, server: Server, token: str, tmp_path: Path
    ) -> None:
        upload = stack.process("upload")
        restart(upload, WHEELHOUSE_SHUTDOWN_TIMEOUT="1", WHEELHOUSE_SHUTDOWN_DRAIN="0")
        changelog = origin(stack, "simple") + "/api/changelog"
        before = httpx.get(changelog, params={"limit": 1}, trust_env=False).json()["last_serial"]
        wheel = big_wheel(tmp_path, "cutoff", 8 * 1024 * 1024)
        sending = SlowUpload(origin(stack, "upload"), token, wheel, seconds=10)
        sending.start()
        sending.wait_until_sent(0.1)
        assert upload.popen is not None
        upload.popen.send_signal(signal.SIGTERM)
        sending.join(60)
        assert upload.popen.wait(30) is not None
        assert sending.response is None or sending.response.status_code >= 500  # refused, not accepted

        restart(upload, WHEELHOUSE_SHUTDOWN_TIMEOUT="600", WHEELHOUSE_SHUTDOWN_DRAIN=str(DRAIN))
        missing = httpx.get(f"{stack.url}/simple/cutoff/", trust_env=False)
        assert missing.status_code == 404  # no project, no release, no file row
        after = httpx.get(changelog, params={"since": before, "limit": 1000}, trust_env=False).json()
        assert after["events"] == [] and after["last_serial"] == before  # nothing was journalled
        edge_sends_uploads_again(stack)
        retried = post_upload(stack.url, token, wheel)  # the filename was not burnt by the cut-off try
        assert retried.status_code == 200, retried.text


def test_db_wait_is_what_the_pods_run_before_starting(server: Server, tmp_path: Path) -> None:
    """The init container of every Deployment: returns once the schema is at this release's head."""
    done = subprocess.run([str(BIN / "wheelhouse"), "db", "wait", "--timeout", "5"],
                          env=server.env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "ready for this release" in done.stdout


class SentryIngest(ThreadingHTTPServer):
    """Stands in for Sentry's ingest endpoint, which cannot run here: keeps every envelope posted."""

    def __init__(self) -> None:
        self.envelopes: list[bytes] = []
        envelopes = self.envelopes

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                envelopes.append(body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


def test_an_unhandled_error_is_reported_to_sentry_when_a_dsn_is_set(tmp_path: Path) -> None:
    ingest = SentryIngest()
    closed = free_port()  # the database is down: reading the index fails with an unhandled error
    port = free_port()
    env = {**client_env(), "WHEELHOUSE_PORT": str(port), "WHEELHOUSE_DATA_DIR": str(tmp_path),
           "WHEELHOUSE_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{closed}/none",
           "WHEELHOUSE_SENTRY_DSN": f"http://public@127.0.0.1:{ingest.server_address[1]}/1",
           "WHEELHOUSE_LOG_FORMAT": "json"}
    server = Server(url=f"http://127.0.0.1:{port}", env=env, log_path=tmp_path / "simple.log", tmp=tmp_path)
    start(server, [sys.executable, "-m", "services.simple"])
    try:
        response = httpx.get(server.url + "/simple/", trust_env=False)
        assert response.status_code == 500
        deadline = time.monotonic() + 10
        while not any(b'"exception"' in envelope for envelope in ingest.envelopes):
            assert time.monotonic() < deadline, "nothing reached the Sentry endpoint"
            time.sleep(0.1)
    finally:
        stop(server)
        ingest.shutdown()
        ingest.server_close()
    [event] = [json.loads(line) for envelope in ingest.envelopes for line in envelope.splitlines()
               if line.startswith(b"{") and b'"exception"' in line]
    assert event["tags"]["service"] == "simple"
    assert event["transaction"] == "/simple/"
    assert "ConnectionRefusedError" in json.dumps(event["exception"]) or "OSError" in json.dumps(event["exception"])
