"""End to end through the account API on a running ``wheelhouse serve``: a maintainer signs up,
verifies the address, enrols 2FA and publishes with twine under an index that requires both;
a CI job exchanges an OIDC ID token for an upload token and publishes with twine; pip installs.

The CI provider is a real HTTP server on loopback serving OpenID discovery and a JWKS,
signing real RS256 ID tokens with a key generated in the test (GitHub cannot be reached here).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyotp
import pytest

from services.accounts.mail import read_messages
from tests.e2e.conftest import Server, serve
from tests.e2e.test_clients import installed, pip_install, twine_upload
from tests.factories.uploads import subdir
from tests.fixtures.oidc import OidcProvider, SigningKeys, running_provider
from tests.upload.validation.builders import build_wheel

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

PASSWORD = "a long enough passphrase"


@pytest.fixture(scope="module")
def ci_provider() -> Iterator[OidcProvider]:
    with running_provider(SigningKeys()) as provider:
        yield provider


@pytest.fixture(scope="module", params=["sqlite-local", "postgres-s3"])
def strict_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                  ci_provider: OidcProvider) -> Iterator[Server]:
    """An index with the public index's upload policy: a verified address and 2FA required."""
    yield from serve(request, tmp_path_factory, upload_requires_2fa="true", upload_requires_verified_email="true",
                     oidc_github_issuer=ci_provider.issuer)


def api(server: Server) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30, trust_env=False)


def latest_mail(server: Server, to: str) -> str:
    deadline = time.monotonic() + 10  # sent in the background
    while time.monotonic() < deadline:
        found = [m for m in read_messages(Path(server.env["WHEELHOUSE_DATA_DIR"]) / "mail") if m["To"] == to]
        if found:
            return found[-1].get_content()
        time.sleep(0.1)
    raise AssertionError(f"no email to {to}")


def test_maintainer_signs_up_and_publishes_under_a_strict_policy(strict_server: Server, tmp_path: Path) -> None:
    server = strict_server
    with api(server) as http:
        assert http.post("/api/account/register", json={"username": "carol", "email": "carol@example.org",
                                                         "password": PASSWORD}).status_code == 201
        session = {"Authorization": "Bearer " + http.post(
            "/api/account/login", json={"username": "carol", "password": PASSWORD}).json()["token"]}
        created = http.post("/api/account/tokens", json={"name": "laptop"}, headers=session)
        assert created.status_code == 201
        token = created.json()["token"]
        wheel = build_wheel(subdir(tmp_path, "w"), name="carol-lib", version="1.0")

        refused = twine_upload(server, token, wheel, extra=("--verbose",))
        assert refused.returncode != 0 and "verified" in refused.stdout + refused.stderr

        link = re.search(r"http\S+/api/account/email/verify\?token=\S+", latest_mail(server, "carol@example.org"))
        assert link is not None
        assert http.get(link.group(0)).json()["verified"] is True

        refused = twine_upload(server, token, wheel, extra=("--verbose",))
        assert refused.returncode != 0 and "two-factor" in refused.stdout + refused.stderr

        secret = http.post("/api/account/2fa/totp", headers=session).json()["secret"]
        confirmed = http.post("/api/account/2fa/totp/confirm", json={"code": pyotp.TOTP(secret).now()},
                              headers=session)
        assert confirmed.status_code == 200 and len(confirmed.json()["recovery_codes"]) == 8

    result = twine_upload(server, token, wheel)
    assert result.returncode == 0, result.stdout + result.stderr
    target = tmp_path / "site"
    pip_install(server, target, "carol-lib")
    assert installed(target) == {"carol_lib-1.0.dist-info"}


def test_ci_job_mints_a_token_with_oidc_and_publishes(
    strict_server: Server, ci_provider: OidcProvider, tmp_path: Path
) -> None:
    server = strict_server
    server.wheelhouse("users", "create", "dave", "--email", "dave@example.org", "--password-stdin",
                      input=PASSWORD + "\n")
    with api(server) as http:
        session = {"Authorization": "Bearer " + http.post(
            "/api/account/login", json={"username": "dave", "password": PASSWORD}).json()["token"]}
        pending = http.post("/api/account/publishers/pending", headers=session, json={
            "project_name": "sampleproject", "kind": "github", "owner": "octo-org", "repository": "sampleproject",
            "workflow": "release.yml"})
        assert pending.status_code == 201, pending.text

        # What a publishing action does: ask the audience, get an ID token from the CI provider, exchange it.
        audience = http.get("/_/oidc/audience").json()["audience"]
        id_token = ci_provider.sign(ci_provider.github_claims(aud=audience))
        minted = http.post("/_/oidc/mint-token", json={"token": id_token})
        assert minted.status_code == 200, minted.text
        replay = http.post("/_/oidc/mint-token", json={"token": id_token})
        assert replay.status_code == 422 and replay.json()["errors"][0]["code"] == "replayed-token"

    wheel = build_wheel(subdir(tmp_path, "w"), name="sampleproject", version="1.0")
    result = twine_upload(server, minted.json()["token"], wheel)
    assert result.returncode == 0, result.stdout + result.stderr
    other = build_wheel(subdir(tmp_path, "o"), name="otherproject", version="1.0")
    assert twine_upload(server, minted.json()["token"], other).returncode != 0
    target = tmp_path / "site"
    pip_install(server, target, "sampleproject")
    assert installed(target) == {"sampleproject-1.0.dist-info"}
