"""Fixtures shared by every test: the two backend pairs and a running app.

``backend`` is parametrised, so every test that uses it runs twice: on SQLite +
local files (the embedded default) and on Postgres + S3 (moto's real S3-protocol
server), as the scaled deployment runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from services.all_in_one import AllInOne, create_app
from shared.config import ServeSettings
from shared.db import Database

pytest_plugins = ["tests.fixtures.s3", "tests.fixtures.database", "tests.fixtures.oidc", "tests.fixtures.nats"]

# Signs API tokens in tests; the factories mint tokens with the same key the apps verify with.
TEST_SECRET_KEY = "test-secret-key-not-for-production"


@dataclass(frozen=True)
class Backend:
    name: str
    database_url: str
    storage_url: str
    s3: dict[str, str] = field(default_factory=dict)

    def settings(self, data_dir: Path, **overrides: object) -> ServeSettings:
        s3 = {f"s3_{key}": value for key, value in self.s3.items()}
        overrides.setdefault("secret_key", TEST_SECRET_KEY)
        return ServeSettings(
            data_dir=data_dir, database_url=self.database_url, storage_url=self.storage_url, **s3, **overrides
        )


@pytest.fixture(params=["sqlite-local", "postgres-s3"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite-local":
        url = request.getfixturevalue("sqlite_url")
        chosen = Backend("sqlite-local", url, (tmp_path / "files").as_uri())
    else:
        url = request.getfixturevalue("postgres_url")
        server = request.getfixturevalue("s3_server")
        bucket = request.getfixturevalue("s3_bucket")
        chosen = Backend("postgres-s3", url, f"s3://{bucket}", s3=server.storage_options())
    from tests.fixtures.database import empty_database  # imported late: it is a plugin module

    await empty_database(url)
    return chosen


@pytest.fixture
def settings(backend: Backend, tmp_path: Path) -> ServeSettings:
    return backend.settings(tmp_path / "data")


@pytest.fixture
async def app(settings: ServeSettings) -> AsyncIterator[AllInOne]:
    application = create_app(settings)
    async with application.lifespan():
        yield application


@pytest.fixture
async def client(app: AllInOne) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def db(settings: ServeSettings) -> AsyncIterator[Database]:
    database = Database.from_settings(settings, service_name="tests")
    yield database
    await database.aclose()


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2's production cost (~0.5 s a hash here) would dominate the suite; the
    algorithm and code path stay the same, only the cost parameters shrink."""
    from argon2 import PasswordHasher

    from shared.auth import passwords

    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
