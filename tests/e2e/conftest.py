"""A real ``wheelhouse serve`` subprocess per backend pair, driven by real clients."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from shared.net import free_port

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Server:
    url: str
    env: dict[str, str]
    log_path: Path
    tmp: Path
    process: subprocess.Popen | None = field(default=None, repr=False)

    def wheelhouse(self, *args: str, input: str | None = None) -> str:
        """Run the console script against this server's database; return stdout."""
        result = subprocess.run([str(BIN / "wheelhouse"), *args], env=self.env, input=input, text=True,
                                capture_output=True, timeout=120, cwd=self.tmp)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def user_token(self, username: str, *token_options: str) -> str:
        """A new user (password login unused) and an API token of theirs, made with the CLI."""
        self.wheelhouse("users", "create", username, "--email", f"{username}@example.org", "--password-stdin",
                        input="s3cret-passw0rd\n")
        return self.wheelhouse("tokens", "create", "--user", username, *token_options).strip()

    def requests(self) -> list[dict]:
        lines = self.log_path.read_text().splitlines()
        return [entry for entry in map(_json_or_none, lines) if entry and entry.get("event") == "request"]


def _json_or_none(line: str) -> dict | None:
    try:
        return json.loads(line)
    except ValueError:
        return None


def client_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WHEELHOUSE_", "PIP_", "UV_", "TWINE_"))}
    env.update(PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PIP_NO_CACHE_DIR="1", UV_NO_CACHE="1", PIP_CONFIG_FILE=os.devnull, UV_NO_CONFIG="1")
    return env


def start(server: Server, command: list[str], *, ready_path: str = "/livez", ready_status: int = 200) -> None:
    with server.log_path.open("w") as log:  # the child keeps its own copy of the descriptor
        server.process = subprocess.Popen(command, env=server.env, cwd=server.tmp, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{command} exited: {server.log_path.read_text()}")
        try:
            if httpx.get(server.url + ready_path, timeout=1).status_code == ready_status:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    stop(server)
    raise RuntimeError(f"{command} did not answer within 60 s: {server.log_path.read_text()}")


def searched(server: Server, query: str, *, deadline: float = 30.0) -> list[dict]:
    """The search results for ``query`` once there are any: an upload reaches search through the
    journal's consumers shortly after its commit, not within it."""
    end = time.monotonic() + deadline
    while True:
        results = httpx.get(f"{server.url}/api/search", params={"q": query}, trust_env=False).json()["results"]
        if results or time.monotonic() > end:
            return results
        time.sleep(0.1)


def stop(server: Server) -> None:
    if server.process is None:
        return
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="module")
def e2e_database_url(worker_id: str) -> Iterator[str]:
    from tests.fixtures.database import fresh_pg_database, unique_db_name

    yield from fresh_pg_database(unique_db_name("wheelhouse_e2e", worker_id))


def serve(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
          **settings: str) -> Iterator[Server]:
    """``wheelhouse serve`` on the backend pair ``request.param`` names, with extra ``WHEELHOUSE_*`` settings."""
    tmp = tmp_path_factory.mktemp("e2e")
    port = free_port()
    env = client_env()
    env["WHEELHOUSE_DATA_DIR"] = str(tmp / "data")
    env["WHEELHOUSE_LOG_FORMAT"] = "json"
    env.update({f"WHEELHOUSE_{name.upper()}": value for name, value in settings.items()})
    if request.param == "postgres-s3":
        s3 = request.getfixturevalue("s3_server")
        bucket = f"wheelhouse-e2e-{uuid.uuid4().hex[:12]}"
        s3.sync_client().create_bucket(Bucket=bucket)
        env.update(
            WHEELHOUSE_DATABASE_URL=request.getfixturevalue("e2e_database_url"),
            WHEELHOUSE_STORAGE_URL=f"s3://{bucket}",
            WHEELHOUSE_S3_ENDPOINT_URL=s3.endpoint_url,
            WHEELHOUSE_S3_ACCESS_KEY_ID=s3.access_key_id,
            WHEELHOUSE_S3_SECRET_ACCESS_KEY=s3.secret_access_key,
        )
    server = Server(url=f"http://127.0.0.1:{port}", env=env, log_path=tmp / "server.log", tmp=tmp)
    start(server, [str(BIN / "wheelhouse"), "serve", "--port", str(port)])
    try:
        yield server
    finally:
        stop(server)


@pytest.fixture(scope="module", params=["sqlite-local", "postgres-s3"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serve(request, tmp_path_factory)
