"""API tokens through the account API (session auth), used the way twine uses them, on both backend pairs."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from shared.db import Database
from shared.schema import ApiToken, Project
from tests.accounts.conftest import bearer, login
from tests.factories.accounts import make_token, make_user
from tests.factories.uploads import subdir, upload
from tests.upload.validation.builders import build_wheel

TOKENS = "/api/account/tokens"


def wheel(tmp_path: Path, name: str = "demo", version: str = "1.0") -> Path:
    return build_wheel(subdir(tmp_path, f"{name}-{version}"), name=name, version=version)


def error(response: httpx.Response) -> dict:
    return response.json()["error"]


async def token_rows(db: Database, user_id: int | None = None) -> list[ApiToken]:
    async with db.read_session() as session:
        statement = select(ApiToken).order_by(ApiToken.created, ApiToken.id)
        if user_id is not None:
            statement = statement.where(ApiToken.user_id == user_id)
        return list(await session.scalars(statement))


async def project_names(db: Database) -> list[str]:
    async with db.read_session() as session:
        return list(await session.scalars(select(Project.name).order_by(Project.name)))


async def create_token(client: httpx.AsyncClient, headers: dict[str, str], **body: object) -> dict:
    response = await client.post(TOKENS, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
async def alice_id(app: object, db: Database) -> int:
    return await make_user(db, "alice")


@pytest.fixture
async def alice(client: httpx.AsyncClient, alice_id: int) -> dict[str, str]:
    """alice's session headers."""
    return await login(client, "alice")


class TestCreate:
    async def test_create_shows_a_pypi_token_once_and_the_list_never_does(
        self, client: httpx.AsyncClient, db: Database, alice: dict[str, str]
    ) -> None:
        created = await create_token(client, alice, name="laptop")
        assert created["token"].startswith("pypi-")
        assert created["name"] == "laptop" and created["projects"] is None and created["expires_at"] is None
        listed = await client.get(TOKENS, headers=alice)
        assert listed.status_code == 200
        assert [t["id"] for t in listed.json()] == [created["id"]]
        assert "token" not in listed.json()[0]
        assert created["token"] not in listed.text
        (row,) = await token_rows(db)
        assert row.id == created["id"] and row.secret_hash is None  # the server keeps no secret

    async def test_created_token_uploads_with_twines_form(
        self, client: httpx.AsyncClient, alice: dict[str, str], tmp_path: Path
    ) -> None:
        created = await create_token(client, alice, name="ci")
        response = await upload(client, wheel(tmp_path), token=created["token"])
        assert response.status_code == 200, response.text
        assert (await client.get("/simple/demo/")).status_code == 200

    async def test_scope_to_a_project_without_a_role_is_refused_and_leaves_no_token(
        self, client: httpx.AsyncClient, db: Database, alice: dict[str, str], alice_id: int, tmp_path: Path
    ) -> None:
        await make_user(db, "bob")
        bobs = await make_token(db, "bob")
        assert (await upload(client, wheel(tmp_path), token=bobs)).status_code == 200  # bob owns demo
        for project in ("demo", "nonexistent"):
            response = await client.post(TOKENS, json={"name": "x", "projects": [project]}, headers=alice)
            assert response.status_code == 403
            assert error(response)["code"] == "NotAllowed"
            assert f"no role on a project named {project!r}" in error(response)["message"]
            assert "projects you own or maintain" in error(response)["message"]
        assert await token_rows(db, alice_id) == []
        events = (await client.get("/api/account/events", headers=alice)).json()["events"]
        assert [e["action"] for e in events] == ["account:login"]

    async def test_invalid_project_name_in_the_scope_is_400(
        self, client: httpx.AsyncClient, db: Database, alice: dict[str, str]
    ) -> None:
        response = await client.post(TOKENS, json={"projects": ["-bad-"]}, headers=alice)
        assert response.status_code == 400
        assert error(response)["code"] == "InvalidTokenRequest"
        assert "Invalid project name" in error(response)["message"]
        assert await token_rows(db) == []

    async def test_expires_in_sets_the_expiry_and_an_expired_token_cannot_upload(
        self, client: httpx.AsyncClient, db: Database, alice: dict[str, str], tmp_path: Path
    ) -> None:
        before = datetime.now(UTC)
        created = await create_token(client, alice, name="short", expires_in=3600)
        (row,) = await token_rows(db)
        assert row.expires_at is not None
        assert before + timedelta(seconds=3600) <= row.expires_at <= datetime.now(UTC) + timedelta(seconds=3600)
        assert datetime.fromisoformat(created["expires_at"]) == row.expires_at
        assert (await upload(client, wheel(tmp_path), token=created["token"])).status_code == 200
        async with db.write_session() as session:
            await session.execute(update(ApiToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
            await session.commit()
        response = await upload(client, wheel(tmp_path, version="2.0"), token=created["token"])
        assert response.status_code == 403
        assert "expired" in response.text and "create a new one" in response.text

    async def test_expires_in_below_a_minute_is_422(
        self, client: httpx.AsyncClient, db: Database, alice: dict[str, str]
    ) -> None:
        response = await client.post(TOKENS, json={"expires_in": 59}, headers=alice)
        assert response.status_code == 422
        assert await token_rows(db) == []


class TestRevoke:
    async def test_revoke_then_the_very_next_upload_is_refused(
        self, client: httpx.AsyncClient, db: Database, alice: dict[str, str], tmp_path: Path
    ) -> None:
        created = await create_token(client, alice)
        assert (await upload(client, wheel(tmp_path), token=created["token"])).status_code == 200
        revoked = await client.delete(f"{TOKENS}/{created['id']}", headers=alice)
        assert revoked.status_code == 204
        response = await upload(client, wheel(tmp_path, version="2.0"), token=created["token"])
        assert response.status_code == 403
        assert "revoked" in response.text and "create a new one" in response.text
        (listed,) = (await client.get(TOKENS, headers=alice)).json()
        assert listed["revoked_at"] is not None
        again = await client.delete(f"{TOKENS}/{created['id']}", headers=alice)
        assert again.status_code == 204  # revoking twice is harmless

    async def test_revoking_another_users_token_answers_like_an_unknown_id(
        self, client: httpx.AsyncClient, db: Database, alice: dict[str, str], tmp_path: Path
    ) -> None:
        await make_user(db, "bob")
        bobs = await create_token(client, await login(client, "bob"), name="bob's")
        unknown_id = secrets.token_hex(16)
        theirs = await client.delete(f"{TOKENS}/{bobs['id']}", headers=alice)
        unknown = await client.delete(f"{TOKENS}/{unknown_id}", headers=alice)
        assert theirs.status_code == unknown.status_code == 404
        assert error(theirs)["code"] == error(unknown)["code"] == "TokenNotFound"
        assert error(theirs)["message"].replace(bobs["id"], "ID") == error(unknown)["message"].replace(unknown_id, "ID")
        assert "You have no API token" in error(theirs)["message"]
        assert [row.revoked_at for row in await token_rows(db)] == [None]
        assert (await upload(client, wheel(tmp_path), token=bobs["token"])).status_code == 200

    async def test_a_malformed_id_answers_404_like_an_unknown_one(
        self, client: httpx.AsyncClient, alice: dict[str, str]
    ) -> None:
        for token_id in ("A" * 32, "a" * 33, "x" * 2000, "-"):
            response = await client.delete(f"{TOKENS}/{token_id}", headers=alice)
            assert response.status_code == 404, token_id
            assert error(response)["code"] == "TokenNotFound"

    async def test_the_list_shows_only_the_callers_tokens(
        self, client: httpx.AsyncClient, db: Database, alice: dict[str, str]
    ) -> None:
        await make_user(db, "bob")
        await create_token(client, await login(client, "bob"))
        mine = await create_token(client, alice)
        assert [t["id"] for t in (await client.get(TOKENS, headers=alice)).json()] == [mine["id"]]


class TestScope:
    async def test_token_for_project_a_cannot_upload_to_project_b(
        self, client: httpx.AsyncClient, db: Database, alice: dict[str, str], tmp_path: Path
    ) -> None:
        unscoped = await create_token(client, alice)
        assert (await upload(client, wheel(tmp_path, "alpha"), token=unscoped["token"])).status_code == 200
        scoped = await create_token(client, alice, projects=["Alpha"])
        assert scoped["projects"] == ["alpha"]
        response = await upload(client, wheel(tmp_path, "beta"), token=scoped["token"])
        assert response.status_code == 403
        assert "scoped to alpha" in response.text and "'beta'" in response.text
        assert "create a token for that project" in response.text
        assert await project_names(db) == ["alpha"]
        assert (await upload(client, wheel(tmp_path, "alpha", "2.0"), token=scoped["token"])).status_code == 200


class TestAccountManagement:
    async def test_an_api_token_cannot_manage_the_account(
        self, client: httpx.AsyncClient, db: Database, alice: dict[str, str]
    ) -> None:
        created = await create_token(client, alice)
        for method, body in (("GET", None), ("POST", {"name": "more"})):
            response = await client.request(method, TOKENS, json=body, headers=bearer(created["token"]))
            assert response.status_code == 403
            assert error(response)["code"] == "ApiTokenNotAllowed"
            assert "POST /api/account/login" in error(response)["message"]
        revoke = await client.delete(f"{TOKENS}/{created['id']}", headers=bearer(created["token"]))
        assert revoke.status_code == 403
        assert [row.revoked_at for row in await token_rows(db)] == [None]
