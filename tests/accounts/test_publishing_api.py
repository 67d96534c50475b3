"""Trusted publishing through the API: registering publishers and exchanging ID tokens.

The CI providers are real HTTP servers on loopback (tests/fixtures/oidc.py) serving
OpenID discovery and a JWKS; tokens are real RS256 JWTs signed with keys made in the test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.config import ServeSettings
from shared.db import Database
from tests.accounts.conftest import login
from tests.conftest import Backend
from tests.factories.accounts import make_token, make_user
from tests.factories.queries import count_account_rows, journal, project
from tests.factories.uploads import subdir, upload
from tests.fixtures.oidc import OidcProvider, SigningKeys, running_provider
from tests.upload.validation.builders import build_wheel

MINT = "/_/oidc/mint-token"
GITHUB = {"kind": "github", "owner": "octo-org", "repository": "sampleproject", "workflow": "release.yml"}
GITLAB = {"kind": "gitlab", "owner": "group", "repository": "sampleproject", "workflow": ".gitlab-ci.yml"}


@pytest.fixture
def gitlab_provider(oidc_signing_keys: SigningKeys) -> Iterator[OidcProvider]:
    with running_provider(oidc_signing_keys) as provider:
        yield provider


@pytest.fixture
def settings(backend: Backend, tmp_path: Path, oidc_provider: OidcProvider,
             gitlab_provider: OidcProvider) -> ServeSettings:
    return backend.settings(tmp_path / "data", oidc_github_issuer=oidc_provider.issuer,
                            oidc_gitlab_issuer=gitlab_provider.issuer)


async def own_project(client: httpx.AsyncClient, db: Database, tmp_path: Path, name: str = "sampleproject") -> None:
    """alice creates ``name`` by uploading its first release."""
    await make_user(db, "alice")
    token = await make_token(db, "alice")
    wheel = build_wheel(subdir(tmp_path, "first"), name=name, version="0.1")
    assert (await upload(client, wheel, token=token)).status_code == 200


async def mint(client: httpx.AsyncClient, id_token: str) -> httpx.Response:
    return await client.post(MINT, json={"token": id_token})


def codes(response: httpx.Response) -> list[str]:
    return [error["code"] for error in response.json()["errors"]]


class TestAudience:
    async def test_answers_the_configured_audience(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/_/oidc/audience")).json() == {"audience": "wheelhouse"}


class TestRegisterPublisher:
    async def test_owner_registers_and_lists(self, client: httpx.AsyncClient, db: Database, tmp_path: Path) -> None:
        await own_project(client, db, tmp_path)
        headers = await login(client, "alice")
        created = await client.post("/api/account/projects/sampleproject/publishers", json=GITHUB, headers=headers)
        assert created.status_code == 201, created.text
        listed = (await client.get("/api/account/projects/sampleproject/publishers", headers=headers)).json()
        assert [(p["kind"], p["owner"], p["workflow"]) for p in listed] == [("github", "octo-org", "release.yml")]
        assert "publisher_added" in [row[1] for row in await journal(db)]

    async def test_maintainer_cannot_register(self, client: httpx.AsyncClient, db: Database, tmp_path: Path) -> None:
        from tests.factories.queries import grant_role

        await own_project(client, db, tmp_path)
        await make_user(db, "bob")
        await grant_role(db, "bob", "sampleproject", "Maintainer")
        response = await client.post("/api/account/projects/sampleproject/publishers", json=GITHUB,
                                     headers=await login(client, "bob"))
        assert response.status_code == 403
        assert "owners" in response.json()["error"]["message"]

    @pytest.mark.parametrize("bad", [{"workflow": ".github/workflows/release.yml"}, {"workflow": "release"},
                                     {"owner": "-octo"}, {"owner_id": "abc"}, {"repository": "a b"}])
    async def test_invalid_publisher_is_refused_with_the_reason(
        self, client: httpx.AsyncClient, db: Database, tmp_path: Path, bad: dict[str, str]
    ) -> None:
        await own_project(client, db, tmp_path)
        response = await client.post("/api/account/projects/sampleproject/publishers", json={**GITHUB, **bad},
                                     headers=await login(client, "alice"))
        assert response.status_code == 400
        assert "Invalid trusted publisher" in response.json()["error"]["message"]
        assert (await count_account_rows(db))["oidc_publishers"] == 0

    async def test_duplicate_is_refused(self, client: httpx.AsyncClient, db: Database, tmp_path: Path) -> None:
        await own_project(client, db, tmp_path)
        headers = await login(client, "alice")
        url = "/api/account/projects/sampleproject/publishers"
        assert (await client.post(url, json=GITHUB, headers=headers)).status_code == 201
        assert (await client.post(url, json=GITHUB, headers=headers)).status_code == 409

    async def test_pending_publisher_for_an_existing_project_is_refused(
        self, client: httpx.AsyncClient, db: Database, tmp_path: Path
    ) -> None:
        await own_project(client, db, tmp_path)
        response = await client.post("/api/account/publishers/pending",
                                     json={**GITHUB, "project_name": "SampleProject"},
                                     headers=await login(client, "alice"))
        assert response.status_code == 409


class TestMintToken:
    async def registered(self, client: httpx.AsyncClient, db: Database, tmp_path: Path, **extra: Any) -> None:
        await own_project(client, db, tmp_path)
        response = await client.post("/api/account/projects/sampleproject/publishers", json={**GITHUB, **extra},
                                     headers=await login(client, "alice"))
        assert response.status_code == 201, response.text

    async def test_github_token_mints_an_upload_token_for_the_project(
        self, client: httpx.AsyncClient, db: Database, tmp_path: Path, oidc_provider: OidcProvider
    ) -> None:
        await self.registered(client, db, tmp_path)
        response = await mint(client, oidc_provider.sign(oidc_provider.github_claims()))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["success"] is True and body["token"].startswith("pypi-")
        wheel = build_wheel(subdir(tmp_path, "second"), name="sampleproject", version="0.2")
        assert (await upload(client, wheel, token=body["token"])).status_code == 200
        other = build_wheel(subdir(tmp_path, "other"), name="otherproject", version="1.0")
        refused = await upload(client, other, token=body["token"])
        assert refused.status_code == 403

    async def test_minted_token_lives_fifteen_minutes(
        self, client: httpx.AsyncClient, db: Database, tmp_path: Path, oidc_provider: OidcProvider
    ) -> None:
        import time

        await self.registered(client, db, tmp_path)
        body = (await mint(client, oidc_provider.sign(oidc_provider.github_claims()))).json()
        assert 900 - 5 <= body["expires"] - time.time() <= 900

    async def test_minted_token_cannot_manage_the_project(
        self, client: httpx.AsyncClient, db: Database, tmp_path: Path, oidc_provider: OidcProvider
    ) -> None:
        await self.registered(client, db, tmp_path)
        token = (await mint(client, oidc_provider.sign(oidc_provider.github_claims()))).json()["token"]
        response = await client.post("/api/projects/sampleproject/releases/0.1/yank", json={},
                                     auth=("__token__", token))
        assert response.status_code == 403
        assert "trusted publisher" in response.text

    async def test_gitlab_token_mints(
        self, client: httpx.AsyncClient, db: Database, tmp_path: Path, gitlab_provider: OidcProvider
    ) -> None:
        await own_project(client, db, tmp_path)
        await client.post("/api/account/projects/sampleproject/publishers", json=GITLAB,
                          headers=await login(client, "alice"))
        response = await mint(client, gitlab_provider.sign(gitlab_provider.gitlab_claims()))
        assert response.status_code == 200, response.text

    async def test_publisher_with_an_environment_refuses_other_environments(
        self, client: httpx.AsyncClient, db: Database, tmp_path: Path, oidc_provider: OidcProvider
    ) -> None:
        await self.registered(client, db, tmp_path, environment="pypi")
        refused = await mint(client, oidc_provider.sign(oidc_provider.github_claims(environment="staging")))
        assert refused.status_code == 422 and "invalid-publisher" in codes(refused)
        allowed = await mint(client, oidc_provider.sign(oidc_provider.github_claims(environment="pypi")))
        assert allowed.status_code == 200

    async def test_owner_id_is_pinned_at_first_use(
        self, client: httpx.AsyncClient, db: Database, tmp_path: Path, oidc_provider: OidcProvider
    ) -> None:
        """A re-created account of the same name (another owner id) cannot take over a publisher."""
        await self.registered(client, db, tmp_path)
        assert (await mint(client, oidc_provider.sign(oidc_provider.github_claims()))).status_code == 200
        changed = await mint(client, oidc_provider.sign(oidc_provider.github_claims(repository_owner_id="9999")))
        assert changed.status_code == 422 and "invalid-publisher" in codes(changed)

    async def test_removed_publisher_stops_its_tokens_at_once(
        self, client: httpx.AsyncClient, db: Database, tmp_path: Path, oidc_provider: OidcProvider
    ) -> None:
        await self.registered(client, db, tmp_path)
        token = (await mint(client, oidc_provider.sign(oidc_provider.github_claims()))).json()["token"]
        headers = await login(client, "alice")
        publisher_id = (await client.get("/api/account/projects/sampleproject/publishers", headers=headers)).json()[0]["id"]
        removed = await client.delete(f"/api/account/projects/sampleproject/publishers/{publisher_id}", headers=headers)
        assert removed.status_code == 204
        wheel = build_wheel(subdir(tmp_path, "second"), name="sampleproject", version="0.2")
        assert (await upload(client, wheel, token=token)).status_code == 403

    async def test_the_exchange_is_audited_on_the_project(
        self, client: httpx.AsyncClient, db: Database, tmp_path: Path, oidc_provider: OidcProvider
    ) -> None:
        await self.registered(client, db, tmp_path)
        await mint(client, oidc_provider.sign(oidc_provider.github_claims()))
        events = (await client.get("/api/account/projects/sampleproject/events",
                                   headers=await login(client, "alice"))).json()["events"]
        minted = [e for e in events if e["action"] == "publisher:token_minted"]
        assert minted and minted[0]["details"]["sha"] and minted[0]["actor"].startswith("trusted publisher github:")


class TestRefusedIdTokens:
    """Each bad token mints nothing and says why: 422 with a list of errors."""

    @pytest.fixture(autouse=True)
    async def registered(self, client: httpx.AsyncClient, db: Database, tmp_path: Path) -> None:
        await TestMintToken().registered(client, db, tmp_path, owner_id="1234")

    async def refused(self, client: httpx.AsyncClient, db: Database, id_token: str, code: str) -> None:
        before = (await count_account_rows(db))["api_tokens"]
        response = await mint(client, id_token)
        assert response.status_code == 422, response.text
        body = response.json()
        assert code in codes(response), body
        assert body["message"] and all(error["description"] for error in body["errors"])
        assert (await count_account_rows(db))["api_tokens"] == before

    @pytest.mark.parametrize(("overrides", "code"), [
        ({"aud": "pypi"}, "invalid-audience"),
        ({"aud": ["wheelhouse", "other"]}, "invalid-audience"),
        ({"exp": 1_000_000_000}, "expired"),
        ({"repository": "evil-org/sampleproject", "repository_owner": "evil-org"}, "invalid-publisher"),
        ({"repository_owner_id": "666"}, "invalid-publisher"),
        ({"job_workflow_ref": "octo-org/sampleproject/.github/workflows/other.yml@refs/heads/main"},
         "invalid-publisher"),
        ({"event_name": "pull_request_target"}, "forbidden-event"),
        ({"jti": None}, "missing-claim"),
    ])
    async def test_bad_claims(self, client: httpx.AsyncClient, db: Database, oidc_provider: OidcProvider,
                              overrides: dict[str, Any], code: str) -> None:
        claims = oidc_provider.github_claims(**overrides)
        await self.refused(client, db, oidc_provider.sign(claims), code)

    async def test_not_yet_valid(self, client: httpx.AsyncClient, db: Database, oidc_provider: OidcProvider) -> None:
        import time

        later = int(time.time()) + 3600
        claims = oidc_provider.github_claims(nbf=later, iat=later, exp=later + 300)
        response = await mint(client, oidc_provider.sign(claims))
        assert response.status_code == 422
        assert {"not-yet-valid", "issued-in-future"} & set(codes(response))

    async def test_alg_none(self, client: httpx.AsyncClient, db: Database, oidc_provider: OidcProvider) -> None:
        await self.refused(client, db, oidc_provider.signing_alg_none(oidc_provider.github_claims()),
                           "invalid-algorithm")

    async def test_hs256_with_the_public_key(self, client: httpx.AsyncClient, db: Database,
                                             oidc_provider: OidcProvider) -> None:
        await self.refused(client, db, oidc_provider.sign_hs256_with_public_key(oidc_provider.github_claims()),
                           "invalid-algorithm")

    async def test_unknown_key_id(self, client: httpx.AsyncClient, db: Database, oidc_provider: OidcProvider) -> None:
        token = oidc_provider.sign(oidc_provider.github_claims(), key=oidc_provider.unpublished_key, kid="nope")
        await self.refused(client, db, token, "unknown-key")

    async def test_unknown_issuer(self, client: httpx.AsyncClient, db: Database, oidc_provider: OidcProvider) -> None:
        token = oidc_provider.sign(oidc_provider.github_claims(iss="https://issuer.example"))
        await self.refused(client, db, token, "unknown-issuer")

    async def test_garbage(self, client: httpx.AsyncClient, db: Database) -> None:
        await self.refused(client, db, "not-a-jwt", "invalid-token")

    async def test_replayed_token_mints_once(self, client: httpx.AsyncClient, db: Database,
                                             oidc_provider: OidcProvider) -> None:
        token = oidc_provider.sign(oidc_provider.github_claims())
        assert (await mint(client, token)).status_code == 200
        await self.refused(client, db, token, "replayed-token")

    async def test_twenty_concurrent_exchanges_of_one_token_mint_exactly_once(
        self, client: httpx.AsyncClient, db: Database, oidc_provider: OidcProvider
    ) -> None:
        token = oidc_provider.sign(oidc_provider.github_claims())
        before = (await count_account_rows(db))["api_tokens"]
        responses = await asyncio.gather(*(mint(client, token) for _ in range(20)))
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] + [422] * 19, statuses
        assert all("replayed-token" in codes(r) for r in responses if r.status_code == 422)
        assert (await count_account_rows(db))["api_tokens"] == before + 1


class TestPendingPublisher:
    async def test_first_use_creates_the_project_owned_by_the_registrant(
        self, client: httpx.AsyncClient, db: Database, tmp_path: Path, oidc_provider: OidcProvider
    ) -> None:
        await make_user(db, "alice")
        headers = await login(client, "alice")
        pending = await client.post("/api/account/publishers/pending",
                                    json={**GITHUB, "project_name": "SampleProject"}, headers=headers)
        assert pending.status_code == 201, pending.text
        assert await project(db, "sampleproject") is None
        response = await mint(client, oidc_provider.sign(oidc_provider.github_claims()))
        assert response.status_code == 200, response.text
        assert await project(db, "sampleproject") is not None
        mine = (await client.get("/api/account/projects", headers=headers)).json()
        assert mine == [{"project": "sampleproject", "role": "Owner"}]
        assert (await client.get("/api/account/publishers/pending", headers=headers)).json() == []
        wheel = build_wheel(subdir(tmp_path, "first"), name="sampleproject", version="1.0")
        assert (await upload(client, wheel, token=response.json()["token"])).status_code == 200

    async def test_project_created_by_someone_else_first_is_not_taken_over(
        self, client: httpx.AsyncClient, db: Database, tmp_path: Path, oidc_provider: OidcProvider
    ) -> None:
        await make_user(db, "mallory")
        await client.post("/api/account/publishers/pending", json={**GITHUB, "project_name": "sampleproject"},
                          headers=await login(client, "mallory"))
        await own_project(client, db, tmp_path)  # alice uploads first
        response = await mint(client, oidc_provider.sign(oidc_provider.github_claims()))
        assert response.status_code == 422 and "invalid-publisher" in codes(response)

    async def test_removing_someone_elses_pending_publisher_is_404(
        self, client: httpx.AsyncClient, db: Database
    ) -> None:
        await make_user(db, "alice")
        await make_user(db, "bob")
        created = await client.post("/api/account/publishers/pending",
                                    json={**GITHUB, "project_name": "newproject"},
                                    headers=await login(client, "alice"))
        publisher_id = created.json()["id"]
        response = await client.delete(f"/api/account/publishers/pending/{publisher_id}",
                                       headers=await login(client, "bob"))
        assert response.status_code == 404
        assert (await count_account_rows(db))["oidc_publishers"] == 1


class TestTrustedPublisherCannotCreateProjects:
    async def test_token_of_a_publisher_whose_project_is_gone_uploads_nothing(
        self, client: httpx.AsyncClient, db: Database, tmp_path: Path, oidc_provider: OidcProvider
    ) -> None:
        await TestMintToken().registered(client, db, tmp_path)
        token = (await mint(client, oidc_provider.sign(oidc_provider.github_claims()))).json()["token"]
        owner_token = await make_token(db, "alice")
        assert (await client.delete("/api/projects/sampleproject", auth=("__token__", owner_token))).status_code == 204
        wheel = build_wheel(subdir(tmp_path, "again"), name="sampleproject", version="2.0")
        refused = await upload(client, wheel, token=token)
        assert refused.status_code == 403
        assert await project(db, "sampleproject") is None
