"""Roles and invitations through the account API, and what they mean for uploads, on both backend pairs."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text, update

from services.accounts.repository import AccountsRepository
from shared.db import Database
from shared.schema import AuditEvent, JournalEntry, Role, RoleInvitation
from tests.accounts.conftest import PASSWORD, Outbox, bearer, login
from tests.conftest import Backend
from tests.factories.accounts import make_token, make_user
from tests.factories.uploads import subdir, upload
from tests.upload.validation.builders import build_wheel

ACCOUNT = "/api/account"
DEMO = f"{ACCOUNT}/projects/demo"


def wheel(tmp_path: Path, name: str = "demo", version: str = "1.0") -> Path:
    return build_wheel(subdir(tmp_path, f"{name}-{version}"), name=name, version=version)


def error(response: httpx.Response) -> dict:
    return response.json()["error"]


@dataclass
class Person:
    id: int
    name: str
    session: dict[str, str]  # headers carrying a login session
    token: str  # an unscoped upload token


@pytest.fixture
async def people(app: object, client: httpx.AsyncClient, db: Database) -> dict[str, Person]:
    found = {}
    for name in ("alice", "bob", "carol"):
        user_id = await make_user(db, name)
        found[name] = Person(user_id, name, await login(client, name), await make_token(db, name))
    return found


@pytest.fixture
def alice(people: dict[str, Person]) -> Person:
    return people["alice"]


@pytest.fixture
def bob(people: dict[str, Person]) -> Person:
    return people["bob"]


@pytest.fixture
def carol(people: dict[str, Person]) -> Person:
    return people["carol"]


@pytest.fixture
async def demo(client: httpx.AsyncClient, alice: Person, tmp_path: Path) -> str:
    """Project demo, created (and so owned) by alice's first upload."""
    response = await upload(client, wheel(tmp_path), token=alice.token)
    assert response.status_code == 200, response.text
    return "demo"


async def invite(client: httpx.AsyncClient, owner: Person, username: str, role: str = "Maintainer",
                 project: str = "demo") -> httpx.Response:
    return await client.post(f"{ACCOUNT}/projects/{project}/invitations", json={"username": username, "role": role},
                             headers=owner.session)


async def make_collaborator(client: httpx.AsyncClient, owner: Person, person: Person, role: str = "Maintainer",
                            project: str = "demo") -> None:
    invited = await invite(client, owner, person.name, role, project)
    assert invited.status_code == 201, invited.text
    accepted = await client.post(f"{ACCOUNT}/invitations/{invited.json()['id']}/accept", headers=person.session)
    assert accepted.status_code == 200, accepted.text


async def roles(client: httpx.AsyncClient, person: Person, project: str = "demo") -> dict[str, tuple[int, str]]:
    """username → (role id, role name), as an owner or maintainer sees them."""
    response = await client.get(f"{ACCOUNT}/projects/{project}/roles", headers=person.session)
    assert response.status_code == 200, response.text
    return {r["username"]: (r["id"], r["role"]) for r in response.json()["roles"]}


async def role_rows(db: Database) -> list[tuple[int, int, str]]:
    async with db.read_session() as session:
        rows = await session.execute(select(Role.user_id, Role.project_id, Role.role_name).order_by(Role.id))
        return [tuple(row) for row in rows]


async def invitation_count(db: Database) -> int:
    async with db.read_session() as session:
        return int(await session.scalar(select(func.count()).select_from(RoleInvitation)) or 0)


async def owner_count(db: Database) -> int:
    async with db.read_session() as session:
        return int(await session.scalar(select(func.count()).select_from(Role).where(Role.role_name == "Owner")) or 0)


class TestInvitations:
    async def test_invite_email_list_and_accept_gives_the_role(
        self, client: httpx.AsyncClient, db: Database, outbox: Outbox, alice: Person, bob: Person, demo: str
    ) -> None:
        before = datetime.now(UTC)
        invited = await invite(client, alice, "Bob")
        assert invited.status_code == 201, invited.text
        body = invited.json()
        assert (body["project"], body["username"], body["role"]) == ("demo", "bob", "Maintainer")
        assert datetime.fromisoformat(body["expires_at"]) >= before + timedelta(days=7)
        mail = await outbox.last_to("bob@example.org")
        assert mail["Subject"] == "Invitation to demo"
        text = mail.get_content()
        assert "alice invites you to be maintainer" in text and "/api/account/invitations" in text

        listed = await client.get(f"{ACCOUNT}/invitations", headers=bob.session)
        assert listed.status_code == 200
        assert [(i["id"], i["project"], i["role"]) for i in listed.json()] == [(body["id"], "demo", "Maintainer")]
        pending = (await client.get(f"{DEMO}/roles", headers=alice.session)).json()["invitations"]
        assert [i["username"] for i in pending] == ["bob"]

        accepted = await client.post(f"{ACCOUNT}/invitations/{body['id']}/accept", headers=bob.session)
        assert accepted.status_code == 200
        assert accepted.json() == {"project": "demo", "role": "Maintainer"}
        assert (await client.get(f"{ACCOUNT}/projects", headers=bob.session)).json() == [
            {"project": "demo", "role": "Maintainer"}]
        assert (await client.get(f"{ACCOUNT}/invitations", headers=bob.session)).json() == []
        assert await invitation_count(db) == 0
        assert {name: role for name, (_, role) in (await roles(client, alice)).items()} == {
            "alice": "Owner", "bob": "Maintainer"}

    async def test_decline_leaves_no_role(
        self, client: httpx.AsyncClient, db: Database, alice: Person, bob: Person, demo: str
    ) -> None:
        invited = (await invite(client, alice, "bob")).json()
        declined = await client.post(f"{ACCOUNT}/invitations/{invited['id']}/decline", headers=bob.session)
        assert declined.status_code == 204
        assert await invitation_count(db) == 0
        assert list(await roles(client, alice)) == ["alice"]
        assert (await client.get(f"{ACCOUNT}/projects", headers=bob.session)).json() == []
        again = await client.post(f"{ACCOUNT}/invitations/{invited['id']}/accept", headers=bob.session)
        assert again.status_code == 404

    async def test_answering_someone_elses_invitation_is_404_and_leaves_it(
        self, client: httpx.AsyncClient, db: Database, alice: Person, bob: Person, carol: Person, demo: str
    ) -> None:
        invited = (await invite(client, alice, "bob")).json()
        for answer in ("accept", "decline"):
            theirs = await client.post(f"{ACCOUNT}/invitations/{invited['id']}/{answer}", headers=carol.session)
            unknown = await client.post(f"{ACCOUNT}/invitations/{invited['id'] + 1000}/{answer}",
                                        headers=carol.session)
            assert theirs.status_code == unknown.status_code == 404
            assert error(theirs)["code"] == error(unknown)["code"] == "InvitationNotFound"
            assert error(theirs)["message"] == f"You have no invitation with id {invited['id']}."
        assert await invitation_count(db) == 1
        assert (await client.get(f"{ACCOUNT}/projects", headers=carol.session)).json() == []
        accepted = await client.post(f"{ACCOUNT}/invitations/{invited['id']}/accept", headers=bob.session)
        assert accepted.status_code == 200

    async def test_an_expired_invitation_is_404_with_a_message_and_can_be_renewed(
        self, client: httpx.AsyncClient, db: Database, alice: Person, bob: Person, demo: str
    ) -> None:
        invited = (await invite(client, alice, "bob")).json()
        async with db.write_session() as session:
            await session.execute(update(RoleInvitation).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
            await session.commit()
        response = await client.post(f"{ACCOUNT}/invitations/{invited['id']}/accept", headers=bob.session)
        assert response.status_code == 404
        assert error(response)["code"] == "InvitationNotFound"
        assert "expired" in error(response)["message"] and "ask an owner" in error(response)["message"]
        assert list(await roles(client, alice)) == ["alice"]
        assert (await client.get(f"{ACCOUNT}/invitations", headers=bob.session)).json() == []
        renewed = await invite(client, alice, "bob")
        assert renewed.status_code == 201, renewed.text
        accepted = await client.post(f"{ACCOUNT}/invitations/{renewed.json()['id']}/accept", headers=bob.session)
        assert accepted.status_code == 200

    async def test_inviting_an_existing_collaborator_is_409(
        self, client: httpx.AsyncClient, db: Database, alice: Person, bob: Person, demo: str
    ) -> None:
        await make_collaborator(client, alice, bob)
        for username in ("bob", "alice"):
            response = await invite(client, alice, username, "Owner")
            assert response.status_code == 409
            assert error(response)["code"] == "RoleExists"
            assert "change it instead" in error(response)["message"]
        assert await invitation_count(db) == 0

    async def test_inviting_twice_is_409(
        self, client: httpx.AsyncClient, db: Database, outbox: Outbox, alice: Person, bob: Person, demo: str
    ) -> None:
        assert (await invite(client, alice, "bob")).status_code == 201
        response = await invite(client, alice, "bob", "Owner")
        assert response.status_code == 409
        assert error(response)["code"] == "InvitationExists"
        assert "already invited" in error(response)["message"]
        assert await invitation_count(db) == 1
        assert len([m for m in await outbox.messages() if m["To"] == "bob@example.org"]) == 1

    async def test_inviting_an_unknown_user_is_404(
        self, client: httpx.AsyncClient, db: Database, outbox: Outbox, alice: Person, demo: str
    ) -> None:
        response = await invite(client, alice, "nobody")
        assert response.status_code == 404
        assert error(response)["code"] == "UserNotFound"
        assert "'nobody'" in error(response)["message"]
        assert await invitation_count(db) == 0

    async def test_inviting_to_an_unknown_project_is_404(
        self, client: httpx.AsyncClient, db: Database, alice: Person, bob: Person
    ) -> None:
        response = await invite(client, alice, "bob", project="nothing-here")
        assert response.status_code == 404
        assert error(response)["code"] == "ProjectNotFound"
        assert await invitation_count(db) == 0

    async def test_owner_revokes_an_invitation(
        self, client: httpx.AsyncClient, db: Database, alice: Person, bob: Person, demo: str
    ) -> None:
        invited = (await invite(client, alice, "bob")).json()
        revoked = await client.delete(f"{DEMO}/invitations/{invited['id']}", headers=alice.session)
        assert revoked.status_code == 204
        assert await invitation_count(db) == 0
        response = await client.post(f"{ACCOUNT}/invitations/{invited['id']}/accept", headers=bob.session)
        assert response.status_code == 404

    async def test_revoking_another_projects_invitation_by_id_is_404_and_leaves_it(
        self, client: httpx.AsyncClient, db: Database, alice: Person, bob: Person, carol: Person, demo: str,
        tmp_path: Path,
    ) -> None:
        assert (await upload(client, wheel(tmp_path, "carols"), token=carol.token)).status_code == 200
        carols = (await invite(client, carol, "bob", project="carols")).json()
        response = await client.delete(f"{DEMO}/invitations/{carols['id']}", headers=alice.session)
        assert response.status_code == 404
        assert error(response)["code"] == "InvitationNotFound"
        assert error(response)["message"] == f"Project 'demo' has no invitation with id {carols['id']}."
        assert await invitation_count(db) == 1
        assert [i["project"] for i in (await client.get(f"{ACCOUNT}/invitations", headers=bob.session)).json()] == [
            "carols"]

    async def test_concurrent_answers_and_revocation_settle_on_one_outcome(
        self, client: httpx.AsyncClient, db: Database, alice: Person, bob: Person, demo: str
    ) -> None:
        invited = (await invite(client, alice, "bob")).json()
        accept = f"{ACCOUNT}/invitations/{invited['id']}/accept"
        results = await asyncio.gather(
            client.post(accept, headers=bob.session),
            client.post(accept, headers=bob.session),
            client.delete(f"{DEMO}/invitations/{invited['id']}", headers=alice.session),
        )
        statuses = [r.status_code for r in results]
        assert sorted(statuses) in ([200, 404, 404], [204, 404, 404]), [r.text for r in results]
        assert await invitation_count(db) == 0
        assert len(await role_rows(db)) == (2 if 200 in statuses else 1)


class TestMaintainer:
    async def test_maintainer_uploads_a_new_version(
        self, client: httpx.AsyncClient, alice: Person, bob: Person, demo: str, tmp_path: Path
    ) -> None:
        refused = await upload(client, wheel(tmp_path, version="2.0"), token=bob.token)
        assert refused.status_code == 403
        await make_collaborator(client, alice, bob)
        response = await upload(client, wheel(tmp_path, version="2.0"), token=bob.token)
        assert response.status_code == 200, response.text

    async def test_maintainer_cannot_invite_yank_or_remove_the_owner(
        self, client: httpx.AsyncClient, db: Database, alice: Person, bob: Person, carol: Person, demo: str
    ) -> None:
        await make_collaborator(client, alice, bob)
        before = await role_rows(db)
        invited = await invite(client, bob, "carol")
        assert invited.status_code == 403
        assert error(invited)["code"] == "Forbidden"
        assert "Only owners" in error(invited)["message"] and "you are a maintainer" in error(invited)["message"]
        yanked = await client.post(f"/api/projects/demo/releases/1.0/yank", headers=bearer(bob.token))
        assert yanked.status_code == 403
        assert error(yanked)["code"] == "Forbidden" and "owner" in error(yanked)["message"]
        alice_role, _ = (await roles(client, bob))["alice"]
        removed = await client.delete(f"{DEMO}/roles/{alice_role}", headers=bob.session)
        assert removed.status_code == 403
        assert "Only owners" in error(removed)["message"]
        changed = await client.patch(f"{DEMO}/roles/{alice_role}", json={"role": "Maintainer"}, headers=bob.session)
        assert changed.status_code == 403
        assert await role_rows(db) == before
        assert await invitation_count(db) == 0

    async def test_a_stranger_sees_no_roles(
        self, client: httpx.AsyncClient, alice: Person, carol: Person, demo: str
    ) -> None:
        response = await client.get(f"{DEMO}/roles", headers=carol.session)
        assert response.status_code == 403
        assert error(response)["message"] == "You have no role on project 'demo'."

    async def test_a_maintainer_may_leave(
        self, client: httpx.AsyncClient, alice: Person, bob: Person, demo: str, tmp_path: Path
    ) -> None:
        await make_collaborator(client, alice, bob)
        bob_role, _ = (await roles(client, bob))["bob"]
        assert (await client.delete(f"{DEMO}/roles/{bob_role}", headers=bob.session)).status_code == 204
        assert list(await roles(client, alice)) == ["alice"]
        assert (await upload(client, wheel(tmp_path, version="2.0"), token=bob.token)).status_code == 403


class TestOwners:
    async def test_owner_makes_a_maintainer_owner(
        self, client: httpx.AsyncClient, alice: Person, bob: Person, demo: str
    ) -> None:
        await make_collaborator(client, alice, bob)
        bob_role, _ = (await roles(client, alice))["bob"]
        changed = await client.patch(f"{DEMO}/roles/{bob_role}", json={"role": "Owner"}, headers=alice.session)
        assert changed.status_code == 200
        assert changed.json() == {"id": bob_role, "username": "bob", "role": "Owner"}
        yanked = await client.post("/api/projects/demo/releases/1.0/yank", headers=bearer(bob.token))
        assert yanked.status_code == 200, yanked.text

    async def test_the_last_owner_cannot_leave_or_be_demoted(
        self, client: httpx.AsyncClient, db: Database, alice: Person, bob: Person, demo: str
    ) -> None:
        await make_collaborator(client, alice, bob)
        alice_role, _ = (await roles(client, alice))["alice"]
        left = await client.delete(f"{DEMO}/roles/{alice_role}", headers=alice.session)
        assert left.status_code == 409
        assert error(left)["code"] == "LastOwner"
        assert "add another owner" in error(left)["message"]
        demoted = await client.patch(f"{DEMO}/roles/{alice_role}", json={"role": "Maintainer"},
                                     headers=alice.session)
        assert demoted.status_code == 409
        assert error(demoted)["code"] == "LastOwner"
        assert "make someone else owner first" in error(demoted)["message"]
        assert (await roles(client, alice))["alice"] == (alice_role, "Owner")
        assert await owner_count(db) == 1

    async def test_with_two_owners_one_may_leave(
        self, client: httpx.AsyncClient, db: Database, alice: Person, bob: Person, demo: str, tmp_path: Path
    ) -> None:
        await make_collaborator(client, alice, bob, "Owner")
        alice_role, _ = (await roles(client, alice))["alice"]
        left = await client.delete(f"{DEMO}/roles/{alice_role}", headers=alice.session)
        assert left.status_code == 204
        assert {name: role for name, (_, role) in (await roles(client, bob)).items()} == {"bob": "Owner"}
        assert (await upload(client, wheel(tmp_path, version="2.0"), token=alice.token)).status_code == 403
        bob_role, _ = (await roles(client, bob))["bob"]
        last = await client.delete(f"{DEMO}/roles/{bob_role}", headers=bob.session)
        assert last.status_code == 409
        assert await owner_count(db) == 1

    async def test_an_owner_may_demote_themselves_while_another_owner_remains(
        self, client: httpx.AsyncClient, db: Database, alice: Person, bob: Person, demo: str
    ) -> None:
        await make_collaborator(client, alice, bob, "Owner")
        alice_role, _ = (await roles(client, alice))["alice"]
        demoted = await client.patch(f"{DEMO}/roles/{alice_role}", json={"role": "Maintainer"},
                                     headers=alice.session)
        assert demoted.status_code == 200
        assert (await roles(client, bob))["alice"] == (alice_role, "Maintainer")
        assert await owner_count(db) == 1

    async def test_two_owners_removing_each_other_at_once_leave_exactly_one(
        self, client: httpx.AsyncClient, db: Database, backend: Backend, alice: Person, bob: Person, demo: str,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        await make_collaborator(client, alice, bob, "Owner")
        found = await roles(client, alice)
        if backend.name == "postgres-s3":  # on SQLite, BEGIN IMMEDIATE serialises the two writers anyway
            hold_at_owner_count(monkeypatch, db)
        results = await asyncio.gather(
            client.delete(f"{DEMO}/roles/{found['bob'][0]}", headers=alice.session),
            client.delete(f"{DEMO}/roles/{found['alice'][0]}", headers=bob.session),
        )
        statuses = sorted(r.status_code for r in results)
        assert statuses[0] == 204 and statuses[1] in (403, 409), [r.text for r in results]
        assert await owner_count(db) == 1
        assert len(await role_rows(db)) == 1


def hold_at_owner_count(monkeypatch: pytest.MonkeyPatch, db: Database) -> None:
    """Make the race real: the first request to count owners waits until the second one has counted
    too, or is blocked on a row lock (the project row, locked while owners are counted)."""
    original = AccountsRepository.count_owners
    arrived = asyncio.Event()
    calls = 0

    async def other_is_blocked() -> None:
        while not arrived.is_set():
            async with db.read_session() as session:
                waiting = await session.scalar(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"))
            if waiting:
                return
            await asyncio.sleep(0.01)

    async def count_owners(self: AccountsRepository, project_id: int) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.wait_for(other_is_blocked(), timeout=10)
        else:
            arrived.set()
        return await original(self, project_id)

    monkeypatch.setattr(AccountsRepository, "count_owners", count_owners)


class TestRemoval:
    async def test_a_removed_user_fails_the_very_next_upload_with_the_same_token(
        self, client: httpx.AsyncClient, alice: Person, bob: Person, demo: str, tmp_path: Path
    ) -> None:
        await make_collaborator(client, alice, bob)
        assert (await upload(client, wheel(tmp_path, version="2.0"), token=bob.token)).status_code == 200
        bob_role, _ = (await roles(client, alice))["bob"]
        assert (await client.delete(f"{DEMO}/roles/{bob_role}", headers=alice.session)).status_code == 204
        response = await upload(client, wheel(tmp_path, version="3.0"), token=bob.token)
        assert response.status_code == 403
        assert "'bob' is not allowed" in response.text and "owner or maintainer role" in response.text

    async def test_a_deactivated_users_token_fails_at_once(
        self, client: httpx.AsyncClient, alice: Person, bob: Person, demo: str, tmp_path: Path
    ) -> None:
        await make_collaborator(client, alice, bob)
        deactivated = await client.post(f"{ACCOUNT}/deactivate", json={"password": PASSWORD}, headers=bob.session)
        assert deactivated.status_code == 204
        response = await upload(client, wheel(tmp_path, version="2.0"), token=bob.token)
        assert response.status_code == 403
        assert "'bob' is deactivated" in response.text
        assert (await client.get(ACCOUNT, headers=bob.session)).status_code == 401

    async def test_a_role_id_of_another_project_is_404_under_this_projects_url(
        self, client: httpx.AsyncClient, db: Database, alice: Person, bob: Person, carol: Person, demo: str,
        tmp_path: Path,
    ) -> None:
        assert (await upload(client, wheel(tmp_path, "second"), token=alice.token)).status_code == 200
        assert (await upload(client, wheel(tmp_path, "carols"), token=carol.token)).status_code == 200
        await make_collaborator(client, alice, bob)
        bob_on_demo, _ = (await roles(client, alice))["bob"]
        carol_on_carols, _ = (await roles(client, carol, "carols"))["carol"]
        before = await role_rows(db)
        for project, role_id in (("second", bob_on_demo), ("demo", carol_on_carols)):
            url = f"{ACCOUNT}/projects/{project}/roles/{role_id}"
            for response in (await client.delete(url, headers=alice.session),
                             await client.patch(url, json={"role": "Owner"}, headers=alice.session)):
                assert response.status_code == 404
                assert error(response)["code"] == "RoleNotFound"
                assert f"has no role with id {role_id}" in error(response)["message"]
        assert await role_rows(db) == before


class TestMalformedInput:
    async def test_names_that_cannot_exist_answer_404(
        self, client: httpx.AsyncClient, db: Database, alice: Person, demo: str
    ) -> None:
        response = await client.get(f"{ACCOUNT}/projects/-demo-/roles", headers=alice.session)
        assert response.status_code == 404
        assert error(response)["code"] == "ProjectNotFound"
        nul_in_path = await client.get(f"{ACCOUNT}/projects/de%00mo/roles", headers=alice.session)
        assert nul_in_path.status_code == 400
        response = await invite(client, alice, "-bob-")
        assert response.status_code == 404
        assert error(response)["code"] == "UserNotFound"
        nul_in_body = await invite(client, alice, "bo\x00b")
        assert nul_in_body.status_code == 422
        assert await invitation_count(db) == 0

    async def test_ids_beyond_64_bits_are_422(self, client: httpx.AsyncClient, alice: Person, demo: str) -> None:
        for method, path in (("POST", "/invitations/{id}/accept"), ("POST", "/invitations/{id}/decline"),
                             ("DELETE", "/projects/demo/invitations/{id}"), ("DELETE", "/projects/demo/roles/{id}"),
                             ("PATCH", "/projects/demo/roles/{id}")):
            too_big = await client.request(method, ACCOUNT + path.format(id=2**63), json={"role": "Owner"},
                                           headers=alice.session)
            assert too_big.status_code == 422, path
            assert error(too_big)["code"] == "ValidationFailed"
            largest = await client.request(method, ACCOUNT + path.format(id=2**63 - 1), json={"role": "Owner"},
                                           headers=alice.session)
            assert largest.status_code == 404, path


class TestRecords:
    async def test_every_change_is_audited_on_project_and_user_and_journaled(
        self, client: httpx.AsyncClient, db: Database, alice: Person, bob: Person, demo: str
    ) -> None:
        await make_collaborator(client, alice, bob)
        bob_role, _ = (await roles(client, alice))["bob"]
        await client.patch(f"{DEMO}/roles/{bob_role}", json={"role": "Owner"}, headers=alice.session)
        assert (await client.delete(f"{DEMO}/roles/{bob_role}", headers=alice.session)).status_code == 204
        changes = ["role:invited", "role:added", "role:changed", "role:removed"]
        async with db.read_session() as session:
            on_project = list(await session.execute(
                select(AuditEvent.action, AuditEvent.actor, AuditEvent.details)
                .where(AuditEvent.project_name == "demo", AuditEvent.action.like("role:%")).order_by(AuditEvent.id)))
            on_bob = list(await session.execute(
                select(AuditEvent.action, AuditEvent.details)
                .where(AuditEvent.user_id == bob.id, AuditEvent.action.like("role:%")).order_by(AuditEvent.id)))
            journal = list(await session.scalars(
                select(JournalEntry.action).where(JournalEntry.action.like("role_%")).order_by(JournalEntry.serial)))
        assert [row.action for row in on_project] == changes
        assert [row.actor for row in on_project] == ["alice", "bob", "alice", "alice"]
        assert all(row.details["username"] == "bob" for row in on_project)
        assert [row.action for row in on_bob] == changes
        assert all(row.details["project"] == "demo" for row in on_bob)
        assert journal == ["role_invited", "role_added", "role_changed", "role_removed"]

    async def test_declined_and_revoked_invitations_are_audited_on_project_and_invitee(
        self, client: httpx.AsyncClient, db: Database, alice: Person, bob: Person, carol: Person, demo: str
    ) -> None:
        to_bob = (await invite(client, alice, "bob")).json()
        to_carol = (await invite(client, alice, "carol")).json()
        assert (await client.post(f"{ACCOUNT}/invitations/{to_bob['id']}/decline",
                                  headers=bob.session)).status_code == 204
        assert (await client.delete(f"{DEMO}/invitations/{to_carol['id']}", headers=alice.session)).status_code == 204
        async with db.read_session() as session:
            rows = list(await session.execute(
                select(AuditEvent.action, AuditEvent.actor, AuditEvent.user_id, AuditEvent.project_name)
                .where(AuditEvent.action.in_(["role:invitation_declined", "role:invitation_revoked"]))
                .order_by(AuditEvent.id)))
        assert [tuple(row) for row in rows] == [
            ("role:invitation_declined", "bob", None, "demo"), ("role:invitation_declined", "bob", bob.id, None),
            ("role:invitation_revoked", "alice", None, "demo"), ("role:invitation_revoked", "alice", carol.id, None),
        ]
