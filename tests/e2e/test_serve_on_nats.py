"""``wheelhouse serve`` with ``WHEELHOUSE_BUS=nats`` on Postgres + S3: the relay and the search
indexer run in-process, and an upload made with twine reaches search through a real JetStream."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Server, searched, serve
from tests.e2e.test_clients import twine_upload
from tests.factories.uploads import subdir
from tests.fixtures.nats import NatsServer
from tests.upload.validation.builders import build_wheel

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture(scope="module", params=["postgres-s3"])
def nats_server_on_bus(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    nats = NatsServer(tmp_path_factory.mktemp("nats"))
    nats.start()
    try:
        yield from serve(request, tmp_path_factory, bus="nats", nats_url=nats.url)
    finally:
        nats.stop()


def test_an_upload_reaches_search_through_jetstream(nats_server_on_bus: Server, tmp_path: Path) -> None:
    server = nats_server_on_bus
    token = server.user_token("nat")
    wheel = build_wheel(subdir(tmp_path, "n"), name="jetstreamed", version="1.0")
    assert twine_upload(server, token, wheel).returncode == 0
    assert searched(server, "jetstreamed")[0]["name"] == "jetstreamed"
    status = server.wheelhouse("worker", "status")
    assert {line.split()[0] for line in status.splitlines()[1:]} >= {"relay", "search-indexer"}
