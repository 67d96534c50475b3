"""The local stack (``wheelhouse stack up``): every service and worker its own process, on
Postgres, NATS JetStream and an S3-protocol server, behind a real varnishd; twine, pip and uv
drive it through the edge only."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.cli.stack import Stack
from tests.e2e.conftest import BIN, Server, client_env, free_port, searched
from tests.e2e.test_clients import pip_install, run, twine_upload
from tests.factories.uploads import subdir
from tests.upload.validation.builders import build_wheel

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, e2e_database_url: str) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("stack")
    with Stack(tmp / "stack", port=free_port(), database_url=e2e_database_url) as running:
        # The edge is what clients see; the CLI reaches the stack's database as every process does.
        yield Server(url=running.url, env={**client_env(), **running.env}, log_path=tmp / "unused.log", tmp=tmp)


@pytest.fixture(scope="module")
def token(stack: Server) -> str:
    return stack.user_token("stacey")


def test_twine_pip_and_uv_through_the_edge(stack: Server, token: str, tmp_path: Path) -> None:
    wheel = build_wheel(subdir(tmp_path, "w"), name="stacked", version="1.0", files={"stacked/__init__.py": b"X = 1\n"})
    assert twine_upload(stack, token, wheel).returncode == 0
    pip_install(stack, tmp_path / "pip", "stacked")
    assert (tmp_path / "pip" / "stacked-1.0.dist-info").is_dir()
    run(stack, str(BIN / "uv"), "pip", "install", "--python", sys.executable, "--target", str(tmp_path / "uv"),
        "--index-url", f"{stack.url}/simple/", "stacked")
    assert (tmp_path / "uv" / "stacked-1.0.dist-info").is_dir()
    again = httpx.get(f"{stack.url}/simple/stacked/", headers={"Accept": "application/vnd.pypi.simple.v1+json"},
                      trust_env=False)
    assert again.headers["X-Cache"] == "HIT"  # pip and uv filled it; the same variant


def test_a_new_version_is_listed_through_the_edge(stack: Server, token: str, tmp_path: Path) -> None:
    """relay -> JetStream -> purger -> varnishd, each its own process."""
    first = build_wheel(subdir(tmp_path, "1"), name="restacked", version="1.0")
    assert twine_upload(stack, token, first).returncode == 0
    page = f"{stack.url}/simple/restacked/"
    assert "restacked-1.0-" in httpx.get(page, trust_env=False).text
    second = build_wheel(subdir(tmp_path, "2"), name="restacked", version="2.0")
    assert twine_upload(stack, token, second).returncode == 0
    assert eventually_listed(page, "restacked-2.0-")
    assert searched(stack, "restacked")[0]["name"] == "restacked"  # the search indexer, through NATS


def eventually_listed(url: str, needle: str, *, deadline: float = 15.0) -> bool:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if needle in httpx.get(url, trust_env=False).text:
            return True
        time.sleep(0.05)
    return False


def test_the_cli_starts_and_stops_it(tmp_path: Path, e2e_database_url: str) -> None:
    port = free_port()
    process = subprocess.Popen([str(BIN / "wheelhouse"), "stack", "up", "--port", str(port), "--data-dir",
                                str(tmp_path / "stack"), "--database-url", e2e_database_url],
                               env=client_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert f"127.0.0.1:{port}" in first, first + process.stdout.read()
        assert httpx.get(f"http://127.0.0.1:{port}/simple/", trust_env=False).status_code == 200
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C
        code = process.wait(60)
        process.stdout.close()  # type: ignore[union-attr]
        assert code == 0
    with pytest.raises(httpx.ConnectError):  # everything it started has stopped, the edge too
        httpx.get(f"http://127.0.0.1:{port}/simple/", trust_env=False, timeout=2)
