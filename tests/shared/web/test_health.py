"""``/livez`` and ``/readyz`` (STYLE §9), on the real upload app and on a small one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from services.upload.app import create_app as create_upload
from shared.config import UploadSettings
from shared.net import free_port
from shared.sentry import init_sentry
from shared.web.app import new_app
from shared.web.health import DRAINING, Readiness


@pytest.fixture(autouse=True)
def not_draining() -> Iterator[None]:
    DRAINING.reset()
    yield
    DRAINING.reset()


async def _never() -> None:
    await asyncio.sleep(3600)


async def _ok() -> None:
    return None


async def _broken() -> None:
    raise ConnectionRefusedError("connection refused")


def _app(**checks) -> FastAPI:  # noqa: ANN003
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.readiness = Readiness("probe-test", timeout=0.2, checks=dict(checks))
        yield

    return new_app(title="t", service="probe-test", lifespan=lifespan)


async def _get(app: FastAPI, path: str) -> httpx.Response:
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
            return await client.get(path)


class TestReadyz:
    async def test_ready_when_every_check_answers(self) -> None:
        response = await _get(_app(database=_ok, storage=_ok), "/readyz")
        assert response.status_code == 200
        assert response.json() == {"status": "ready", "checks": {"database": "ok", "storage": "ok"}}
        assert REGISTRY.get_sample_value("wheelhouse_ready", {"service": "probe-test"}) == 1

    async def test_a_failing_check_names_what_failed(self) -> None:
        response = await _get(_app(database=_ok, storage=_broken), "/readyz")
        assert response.status_code == 503 and response.headers["Cache-Control"] == "no-store"
        assert response.json()["checks"] == {"database": "ok",
                                             "storage": "failed: ConnectionRefusedError: connection refused"}
        assert REGISTRY.get_sample_value("wheelhouse_ready", {"service": "probe-test"}) == 0

    async def test_a_check_that_hangs_is_cut_off_by_the_timeout(self) -> None:
        response = await asyncio.wait_for(_get(_app(database=_never), "/readyz"), 5)
        assert response.status_code == 503
        assert response.json()["checks"] == {"database": "no answer within 0.2 s"}

    async def test_fails_once_shutdown_starts_while_livez_still_answers(self) -> None:
        DRAINING.begin()
        app = _app(database=_ok)
        assert (await _get(app, "/readyz")).json() == {"status": "unavailable",
                                                        "checks": {"process": "shutting down"}}
        assert (await _get(app, "/livez")).status_code == 200

    async def test_the_upload_service_checks_its_database_and_storage(self, tmp_path: Path) -> None:
        closed = free_port()  # nothing listens there: the database is down
        settings = UploadSettings(data_dir=tmp_path, storage_url="memory://",
                                  database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{closed}/none")
        app = create_upload(settings)
        ready = await _get(app, "/readyz")
        assert ready.status_code == 503
        checks = ready.json()["checks"]
        assert checks["storage"] == "ok" and checks["database"].startswith("failed: ")
        assert (await _get(app, "/livez")).status_code == 200  # liveness checks no dependency


def test_sentry_is_off_without_a_dsn(tmp_path: Path) -> None:
    assert init_sentry(UploadSettings(data_dir=tmp_path), service="upload") is False
