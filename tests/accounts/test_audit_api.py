"""The audit log through the account API: the caller's account, and the projects it owns."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from shared.db import Database
from tests.accounts.conftest import login
from tests.factories.accounts import make_token, make_user
from tests.factories.uploads import subdir, upload
from tests.upload.validation.builders import build_wheel

EVENTS = "/api/account/events"
DEMO_EVENTS = "/api/account/projects/demo/events"
ASGI_CLIENT_IP = "127.0.0.1"  # what httpx.ASGITransport puts in the ASGI scope's "client"


def wheel(tmp_path: Path, name: str = "demo", version: str = "1.0") -> Path:
    return build_wheel(subdir(tmp_path, f"{name}-{version}"), name=name, version=version)


def error(response: httpx.Response) -> dict:
    return response.json()["error"]


@pytest.fixture
async def alice(app: object, client: httpx.AsyncClient, db: Database) -> dict[str, str]:
    await make_user(db, "alice")
    return await login(client, "alice")


@pytest.fixture
async def demo(client: httpx.AsyncClient, db: Database, alice: dict[str, str], tmp_path: Path) -> str:
    """Project demo, created by alice's upload of demo 1.0 (so she owns it)."""
    response = await upload(client, wheel(tmp_path), token=await make_token(db, "alice"))
    assert response.status_code == 200, response.text
    return "demo"


async def page(client: httpx.AsyncClient, url: str, headers: dict[str, str], **params: object) -> dict:
    response = await client.get(url, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


class TestAccountEvents:
    async def test_login_and_token_changes_are_listed_newest_first_with_the_client_address(
        self, client: httpx.AsyncClient, db: Database, alice: dict[str, str]
    ) -> None:
        created = (await client.post("/api/account/tokens", json={"name": "ci"}, headers=alice)).json()
        assert (await client.delete(f"/api/account/tokens/{created['id']}", headers=alice)).status_code == 204
        events = (await page(client, EVENTS, alice))["events"]
        assert [e["action"] for e in events] == ["token:revoked", "token:created", "account:login"]
        assert {e["ip"] for e in events} == {ASGI_CLIENT_IP}
        assert {e["actor"] for e in events} == {"alice"}
        assert [e["id"] for e in events] == sorted((e["id"] for e in events), reverse=True)
        assert events[0]["details"] == {"token_id": created["id"], "name": "ci"}
        assert events[1]["details"]["token_id"] == created["id"]
        assert created["token"] not in str(events)  # the secret is never logged

    async def test_another_users_events_are_not_shown(
        self, client: httpx.AsyncClient, db: Database, alice: dict[str, str]
    ) -> None:
        await make_user(db, "bob")
        bob = await login(client, "bob")
        await client.post("/api/account/tokens", json={"name": "bob's"}, headers=bob)
        events = (await page(client, EVENTS, alice))["events"]
        assert [(e["action"], e["actor"]) for e in events] == [("account:login", "alice")]

    async def test_pages_follow_next_before_to_the_end(
        self, client: httpx.AsyncClient, db: Database, alice: dict[str, str]
    ) -> None:
        for name in ("a", "b", "c", "d"):
            assert (await client.post("/api/account/tokens", json={"name": name}, headers=alice)).status_code == 201
        everything = (await page(client, EVENTS, alice))["events"]
        assert len(everything) == 5  # a login and four tokens
        seen: list[int] = []
        before = None
        for _ in range(5):
            params = {"limit": 2} if before is None else {"limit": 2, "before": before}
            got = await page(client, EVENTS, alice, **params)
            seen += [e["id"] for e in got["events"]]
            before = got["next_before"]
            if before is None:
                break
            assert before == got["events"][-1]["id"]
        assert seen == [e["id"] for e in everything]
        assert [e["details"].get("name") for e in everything] == ["d", "c", "b", "a", None]

    async def test_limit_out_of_bounds_is_422(self, client: httpx.AsyncClient, alice: dict[str, str]) -> None:
        for limit in (0, 201, -1):
            response = await client.get(EVENTS, params={"limit": limit}, headers=alice)
            assert response.status_code == 422, limit
            assert error(response)["code"] == "ValidationFailed" and "limit" in error(response)["message"]

    async def test_before_out_of_range_is_422(self, client: httpx.AsyncClient, alice: dict[str, str]) -> None:
        for url in (EVENTS, DEMO_EVENTS):
            for before in (0, 2**63):
                response = await client.get(url, params={"before": before}, headers=alice)
                assert response.status_code == 422, (url, before)
                assert "before" in error(response)["message"]

    async def test_largest_limit_is_accepted(self, client: httpx.AsyncClient, alice: dict[str, str]) -> None:
        got = await page(client, EVENTS, alice, limit=200)
        assert len(got["events"]) == 1 and got["next_before"] is None

    async def test_without_a_session_is_401(self, client: httpx.AsyncClient, alice: dict[str, str]) -> None:
        response = await client.get(EVENTS)
        assert response.status_code == 401
        assert error(response)["code"] == "SessionRequired"
        assert "POST /api/account/login" in error(response)["message"]


class TestProjectEvents:
    async def test_uploads_and_role_changes_are_listed_for_an_owner(
        self, client: httpx.AsyncClient, db: Database, alice: dict[str, str], demo: str, tmp_path: Path
    ) -> None:
        await make_user(db, "bob")
        invited = await client.post("/api/account/projects/demo/invitations", json={"username": "bob"},
                                    headers=alice)
        assert invited.status_code == 201
        newer = await upload(client, wheel(tmp_path, version="2.0"), token=await make_token(db, "alice"))
        assert newer.status_code == 200
        events = (await page(client, DEMO_EVENTS, alice))["events"]
        assert [e["action"] for e in events] == [
            "file:uploaded", "role:invited", "file:uploaded", "project:created"]
        assert events[0]["details"]["filename"] == "demo-2.0-py3-none-any.whl"
        assert events[2]["details"]["filename"] == "demo-1.0-py3-none-any.whl"
        assert events[1]["details"] == {"username": "bob", "role": "Maintainer"}
        assert {e["project"] for e in events} == {"demo"}
        assert {e["ip"] for e in events} == {ASGI_CLIENT_IP}
        assert {e["actor"] for e in events} == {"alice"}

    async def test_paginated_like_the_account_log(
        self, client: httpx.AsyncClient, db: Database, alice: dict[str, str], demo: str
    ) -> None:
        first = await page(client, DEMO_EVENTS, alice, limit=1)
        assert [e["action"] for e in first["events"]] == ["file:uploaded"]
        second = await page(client, DEMO_EVENTS, alice, limit=1, before=first["next_before"])
        assert [e["action"] for e in second["events"]] == ["project:created"]

    async def test_a_maintainer_or_a_stranger_is_403(
        self, client: httpx.AsyncClient, db: Database, alice: dict[str, str], demo: str
    ) -> None:
        await make_user(db, "bob")
        await make_user(db, "carol")
        bob, carol = await login(client, "bob"), await login(client, "carol")
        invitation = (await client.post("/api/account/projects/demo/invitations", json={"username": "bob"},
                                        headers=alice)).json()
        assert (await client.post(f"/api/account/invitations/{invitation['id']}/accept",
                                  headers=bob)).status_code == 200
        maintainer = await client.get(DEMO_EVENTS, headers=bob)
        assert maintainer.status_code == 403
        assert error(maintainer)["code"] == "Forbidden"
        assert "Only owners of 'demo'" in error(maintainer)["message"]
        stranger = await client.get(DEMO_EVENTS, headers=carol)
        assert stranger.status_code == 403
        assert error(stranger)["message"] == "You have no role on project 'demo'."

    async def test_unknown_project_is_404(self, client: httpx.AsyncClient, alice: dict[str, str]) -> None:
        response = await client.get("/api/account/projects/nothing/events", headers=alice)
        assert response.status_code == 404
        assert error(response)["code"] == "ProjectNotFound"

    async def test_limit_out_of_bounds_is_422(
        self, client: httpx.AsyncClient, alice: dict[str, str], demo: str
    ) -> None:
        for limit in (0, 201):
            response = await client.get(DEMO_EVENTS, params={"limit": limit}, headers=alice)
            assert response.status_code == 422, limit
            assert error(response)["code"] == "ValidationFailed" and "limit" in error(response)["message"]


class TestProjectManagementIsAudited:
    async def test_yank_status_and_delete_are_listed_with_who_and_whence(
        self, client: httpx.AsyncClient, db: Database, alice: dict[str, str], demo: str
    ) -> None:
        token = await make_token(db, "alice")
        auth = {"Authorization": f"Bearer {token}"}
        yanked = await client.post("/api/projects/demo/releases/1.0/yank", json={"reason": "broken"}, headers=auth)
        assert yanked.status_code == 200, yanked.text
        archived = await client.post("/api/projects/demo/status", json={"status": "archived"}, headers=auth)
        assert archived.status_code == 200, archived.text
        events = (await page(client, DEMO_EVENTS, alice))["events"]
        assert [e["action"] for e in events[:2]] == ["project:status_changed", "release:yanked"]
        assert events[1]["details"]["version"] == "1.0" and events[1]["details"]["reason"] == "broken"
        assert events[0]["details"]["status"] == "archived"
        assert {e["actor"] for e in events[:2]} == {"alice"} and {e["ip"] for e in events[:2]} == {ASGI_CLIENT_IP}
