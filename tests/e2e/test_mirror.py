"""A mirror follows a running ``wheelhouse serve``: the XML-RPC methods through the standard
library's ServerProxy (what mirror tools speak), and the live Server-Sent Events stream."""

from __future__ import annotations

import json
import threading
import xmlrpc.client
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Server, searched
from tests.e2e.test_clients import twine_upload
from tests.factories.uploads import subdir
from tests.upload.validation.builders import build_wheel

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    return server.user_token("mira")


def test_xmlrpc_methods_answer_a_mirror_tool(server: Server, token: str, tmp_path: Path) -> None:
    with xmlrpc.client.ServerProxy(f"{server.url}/pypi") as proxy:
        before = proxy.changelog_last_serial()
        wheel = build_wheel(subdir(tmp_path, "m"), name="mirrored", version="1.0")
        assert twine_upload(server, token, wheel).returncode == 0
        after = proxy.changelog_last_serial()
        assert after > before
        changes = proxy.changelog_since_serial(before)
        assert [c[0] for c in changes] == ["mirrored"] * 3 and [c[4] for c in changes][-1] == after
        assert proxy.list_packages_with_serial()["mirrored"] == after


def test_the_stream_delivers_an_upload_live(server: Server, token: str, tmp_path: Path) -> None:
    received: list[dict] = []
    connected = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", f"{server.url}/api/changelog/stream", timeout=30, trust_env=False) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            connected.set()
            for line in response.iter_lines():
                if line.startswith("data: "):
                    received.append(json.loads(line[len("data: "):]))
                    if len(received) == 3:
                        return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert connected.wait(30)
    wheel = build_wheel(subdir(tmp_path, "s"), name="streamed", version="1.0")
    assert twine_upload(server, token, wheel).returncode == 0
    listener.join(30)
    assert [(e["project"], e["action"]) for e in received] == [
        ("streamed", "project_created"), ("streamed", "release_created"), ("streamed", "file_added")]


def test_an_upload_becomes_searchable_on_the_embedded_default(server: Server, token: str, tmp_path: Path) -> None:
    """``wheelhouse serve`` runs the search indexer in-process, following the journal."""
    wheel = build_wheel(subdir(tmp_path, "f"), name="findable-thing", version="1.0")
    assert twine_upload(server, token, wheel).returncode == 0
    assert searched(server, "findable-thing")[0]["name"] == "findable-thing"
