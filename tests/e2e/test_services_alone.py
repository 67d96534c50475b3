"""Each service and each worker as its own process (``python -m services.<svc>``, ``wheelhouse
worker NAME``), configured only by environment variables, on Postgres + S3 + NATS JetStream, as
in Kubernetes: twine publishes to the upload service, pip installs from the simple service, and
the relay and the search indexer carry each upload to the search service through NATS."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TypeVar
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import BIN, Server, client_env, free_port, searched, start, stop
from tests.e2e.test_clients import twine_upload
from tests.factories.uploads import subdir
from tests.fixtures.nats import NatsServer
from tests.upload.validation.builders import build_wheel

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
T = TypeVar("T")
SERVICES = ("upload", "simple", "search", "accounts")
WORKERS = ("relay", "search-indexer")


@pytest.fixture(scope="module")
def services(
    tmp_path_factory: pytest.TempPathFactory, e2e_database_url: str, s3_server  # noqa: ANN001
) -> Iterator[dict[str, Server]]:
    tmp = tmp_path_factory.mktemp("alone")
    nats = NatsServer(tmp / "nats")
    nats.start()
    bucket = f"wheelhouse-alone-{uuid.uuid4().hex[:12]}"
    s3_server.sync_client().create_bucket(Bucket=bucket)
    env = client_env()
    env.update(
        WHEELHOUSE_DATABASE_URL=e2e_database_url,
        WHEELHOUSE_STORAGE_URL=f"s3://{bucket}",
        WHEELHOUSE_S3_ENDPOINT_URL=s3_server.endpoint_url,
        WHEELHOUSE_S3_ACCESS_KEY_ID=s3_server.access_key_id,
        WHEELHOUSE_S3_SECRET_ACCESS_KEY=s3_server.secret_access_key,
        WHEELHOUSE_LOG_FORMAT="json",
        WHEELHOUSE_SECRET_KEY="one-secret-key-shared-by-every-service-process",
        WHEELHOUSE_BUS="nats",
        WHEELHOUSE_NATS_URL=nats.url,
    )
    subprocess.run([str(BIN / "wheelhouse"), "db", "upgrade"], env=env, check=True, timeout=120, capture_output=True)
    running: dict[str, Server] = {}
    try:
        for name in SERVICES:
            port = free_port()
            server = Server(url=f"http://127.0.0.1:{port}", env={**env, "WHEELHOUSE_PORT": str(port)},
                            log_path=tmp / f"{name}.log", tmp=tmp)
            start(server, [sys.executable, "-m", f"services.{name}"])
            running[name] = server
        for name in WORKERS:  # a worker answers HTTP only on its metrics port
            port = free_port()
            server = Server(url=f"http://127.0.0.1:{port}", env={**env, "WHEELHOUSE_METRICS_PORT": str(port)},
                            log_path=tmp / f"{name}.log", tmp=tmp)
            start(server, [str(BIN / "wheelhouse"), "worker", name], ready_path="/metrics")
            running[name] = server
        yield running
    finally:
        for server in running.values():
            stop(server)
        nats.stop()


def test_twine_to_the_upload_service_and_pip_from_the_simple_service(
    services: dict[str, Server], tmp_path: Path
) -> None:
    upload = services["upload"]
    token = upload.user_token("alice", "--project", "solo")
    wheel = build_wheel(subdir(tmp_path, "w"), name="solo", version="1.0", files={"solo/__init__.py": b"X = 1\n"})
    assert twine_upload(upload, token, wheel).returncode == 0
    simple = services["simple"]
    subprocess.run([sys.executable, "-m", "pip", "install", "--index-url", f"{simple.url}/simple/", "--target",
                    str(tmp_path / "t"), "solo"], env=simple.env, check=True, timeout=300, capture_output=True)
    assert (tmp_path / "t" / "solo-1.0.dist-info").is_dir()


def test_an_upload_reaches_search_through_nats(services: dict[str, Server], tmp_path: Path) -> None:
    upload = services["upload"]
    token = upload.user_token("sam")
    wheel = build_wheel(subdir(tmp_path, "s"), name="searchable", version="1.0")
    assert twine_upload(upload, token, wheel).returncode == 0
    # journal -> relay -> JetStream -> search indexer -> index, each its own process
    assert [r["name"] for r in searched(services["search"], "searchable")][:1] == ["searchable"]


def test_workers_publish_their_lag_as_metrics(services: dict[str, Server], tmp_path: Path) -> None:
    upload = services["upload"]
    token = upload.user_token("mel")
    wheel = build_wheel(subdir(tmp_path, "m"), name="metered", version="1.0")
    assert twine_upload(upload, token, wheel).returncode == 0
    for name in WORKERS:
        text = poll(lambda name=name: httpx.get(services[name].url + "/metrics").text,  # type: ignore[misc]
                    until=lambda text, name=name: f'wheelhouse_consumer_lag_serials{{consumer="{name}"}}' in text)
        lag = next(line for line in text.splitlines()
                   if line.startswith(f'wheelhouse_consumer_lag_serials{{consumer="{name}"}}'))
        assert float(lag.split()[-1]) >= 0
    status = poll(lambda: upload.wheelhouse("worker", "status"),  # each has handled the upload's events
                  until=lambda text: {line.split()[0] for line in text.splitlines()[1:]} >= set(WORKERS))
    assert {line.split()[0] for line in status.splitlines()[1:]} >= set(WORKERS), status


def poll(read: Callable[[], T], *, until: Callable[[T], bool], deadline: float = 30.0) -> T:
    """``read()`` until its value satisfies ``until`` (workers act shortly after a commit, not within it)."""
    end = time.monotonic() + deadline
    while True:
        value = read()
        if until(value) or time.monotonic() > end:
            return value
        time.sleep(0.1)


def test_token_from_the_accounts_service_uploads_through_the_upload_service(
    services: dict[str, Server], tmp_path: Path
) -> None:
    accounts, upload = services["accounts"].url, services["upload"]
    account = {"username": "bob", "email": "bob@example.org", "password": "s3cret-passw0rd"}
    assert httpx.post(accounts + "/api/account/register", json=account).status_code == 201
    login = httpx.post(accounts + "/api/account/login", json={"username": "bob", "password": account["password"]})
    session = {"Authorization": f"Bearer {login.json()['token']}"}
    created = httpx.post(accounts + "/api/account/tokens", json={"name": "ci"}, headers=session)
    assert created.status_code == 201, created.text
    wheel = build_wheel(subdir(tmp_path, "b"), name="bobs", version="1.0")
    assert twine_upload(upload, created.json()["token"], wheel).returncode == 0
    projects = httpx.get(accounts + "/api/account/projects", headers=session).json()
    assert projects == [{"project": "bobs", "role": "Owner"}]


def test_each_service_answers_only_its_own_paths(services: dict[str, Server]) -> None:
    assert httpx.get(services["upload"].url + "/simple/").status_code == 404
    assert httpx.get(services["simple"].url + "/legacy/").status_code in (404, 405)
