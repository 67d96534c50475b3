"""Hostile input to the account API answers 4xx, never 500: NUL characters (which Postgres
refuses in text) in bodies, paths and queries, and ids beyond the database's range."""

from __future__ import annotations

import httpx
import pytest

from shared.db import Database
from tests.accounts.conftest import login
from tests.factories.accounts import make_user


class TestNulCharacters:
    @pytest.mark.parametrize(("path", "body"), [
        ("/api/account/login", {"username": "al\u0000ice", "password": "x"}),
        ("/api/account/password/reset-request", {"username_or_email": "al\u0000ice"}),
        ("/api/account/register", {"username": "bob", "email": "b\u0000b@example.org", "password": "long enough!"}),
        ("/_/oidc/mint-token", {"token": "eyJ\u0000"}),
    ])
    async def test_in_a_body_is_a_422_naming_the_field(self, client: httpx.AsyncClient, path: str,
                                                      body: dict[str, str]) -> None:
        response = await client.post(path, json=body)
        assert response.status_code == 422, response.text
        assert "NUL" in response.json()["error"]["message"]

    async def test_in_a_list_field_too(self, client: httpx.AsyncClient, db: Database) -> None:
        await make_user(db, "alice")
        response = await client.post("/api/account/tokens", json={"projects": ["de\u0000mo"]},
                                     headers=await login(client, "alice"))
        assert response.status_code == 422

    @pytest.mark.parametrize("path", ["/api/account/projects/de%00mo/roles", "/api/projects/de%00mo/status",
                                      "/simple/de%00mo/"])
    async def test_in_a_path_is_a_400(self, client: httpx.AsyncClient, path: str) -> None:
        response = await client.get(path)
        assert response.status_code == 400


class TestIdsOutOfRange:
    @pytest.mark.parametrize("path", ["/api/account/publishers/pending/9223372036854775808",
                                      "/api/account/projects/demo/publishers/9223372036854775808"])
    async def test_are_a_422(self, client: httpx.AsyncClient, db: Database, path: str) -> None:
        await make_user(db, "alice")
        response = await client.delete(path, headers=await login(client, "alice"))
        assert response.status_code == 422
