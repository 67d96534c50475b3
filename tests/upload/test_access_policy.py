"""The upload service enforces the index's access policy: 2FA and a verified address when
the settings require them (as the public index does), and a limit on new projects."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from shared.config import ServeSettings
from shared.db import Database
from shared.ratelimit import DatabaseRateLimiter
from shared.ratelimit.policies import PROJECT_CREATION
from shared.schema import User
from tests.conftest import Backend
from tests.factories.accounts import make_token, make_user
from tests.factories.queries import count_rows
from tests.factories.uploads import subdir, upload
from tests.upload.validation.builders import build_wheel


async def enable_two_factor(db: Database, username: str) -> None:
    async with db.write_session() as session:
        await session.execute(update(User).where(User.username == username).values(totp_enabled=True))
        await session.commit()


class TestStrictPolicy:
    @pytest.fixture
    def settings(self, backend: Backend, tmp_path: Path) -> ServeSettings:
        return backend.settings(tmp_path / "data", upload_requires_2fa=True, upload_requires_verified_email=True)

    async def test_unverified_address_is_refused_first(self, client: httpx.AsyncClient, db: Database,
                                                      tmp_path: Path) -> None:
        await make_user(db, "alice")
        response = await upload(client, build_wheel(tmp_path, name="demo", version="1.0"),
                                token=await make_token(db, "alice"))
        assert response.status_code == 403
        assert "email address is verified" in response.text
        assert (await count_rows(db))["projects"] == 0

    async def test_without_two_factor_is_refused(self, client: httpx.AsyncClient, db: Database,
                                                 tmp_path: Path) -> None:
        await make_user(db, "alice", email_verified=True)
        response = await upload(client, build_wheel(tmp_path, name="demo", version="1.0"),
                                token=await make_token(db, "alice"))
        assert response.status_code == 403
        assert "two-factor" in response.text and "/api/account/2fa/totp" in response.text
        assert (await count_rows(db))["files"] == 0

    async def test_verified_with_two_factor_uploads(self, client: httpx.AsyncClient, db: Database,
                                                    tmp_path: Path) -> None:
        await make_user(db, "alice", email_verified=True)
        await enable_two_factor(db, "alice")
        response = await upload(client, build_wheel(tmp_path, name="demo", version="1.0"),
                                token=await make_token(db, "alice"))
        assert response.status_code == 200, response.text


class TestDefaultPolicy:
    async def test_embedded_default_needs_neither(self, client: httpx.AsyncClient, db: Database,
                                                  tmp_path: Path) -> None:
        await make_user(db, "alice")
        response = await upload(client, build_wheel(tmp_path, name="demo", version="1.0"),
                                token=await make_token(db, "alice"))
        assert response.status_code == 200, response.text


class TestProjectCreationLimit:
    async def test_too_many_new_projects_answers_429_with_retry_after(
        self, client: httpx.AsyncClient, db: Database, tmp_path: Path
    ) -> None:
        user_id = await make_user(db, "alice")
        token = await make_token(db, "alice")
        limiter = DatabaseRateLimiter(db)
        for _ in range(PROJECT_CREATION.limit):
            await limiter.hit(PROJECT_CREATION, str(user_id))
        response = await upload(client, build_wheel(tmp_path, name="demo", version="1.0"), token=token)
        assert response.status_code == 429
        assert int(response.headers["Retry-After"]) > 0
        assert "Too many new projects" in response.text
        assert (await count_rows(db))["projects"] == 0

    async def test_uploads_to_an_existing_project_are_not_limited(
        self, client: httpx.AsyncClient, db: Database, tmp_path: Path
    ) -> None:
        user_id = await make_user(db, "alice")
        token = await make_token(db, "alice")
        first = await upload(client, build_wheel(subdir(tmp_path, "a"), name="demo", version="1.0"), token=token)
        assert first.status_code == 200
        limiter = DatabaseRateLimiter(db)
        for _ in range(PROJECT_CREATION.limit + 1):
            await limiter.hit(PROJECT_CREATION, str(user_id))
        second = await upload(client, build_wheel(subdir(tmp_path, "b"), name="demo", version="2.0"), token=token)
        assert second.status_code == 200, second.text
