"""Token authentication end to end: narrowing by the holder, tampering, the opaque first format,
key rotation and ``last_used`` (shared/auth/service.py, shared/auth/macaroons.py)."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select, update

from services.all_in_one import AllInOne, create_app
from shared.auth import macaroons
from shared.auth.service import LAST_USED_RESOLUTION, authenticate_token
from shared.auth.tokens import hash_token_secret, new_token_secret
from shared.db import Database
from shared.errors import ForbiddenError
from shared.schema import ApiToken, Project
from tests.conftest import TEST_SECRET_KEY, Backend
from tests.factories.accounts import TEST_KEYS, make_token, make_user
from tests.factories.uploads import subdir, upload
from tests.upload.validation.builders import build_wheel


def wheel(tmp_path: Path, name: str = "alpha", version: str = "1.0") -> Path:
    return build_wheel(subdir(tmp_path, f"{name}-{version}"), name=name, version=version)


async def project_names(db: Database) -> list[str]:
    async with db.read_session() as session:
        return list(await session.scalars(select(Project.name).order_by(Project.name)))


async def token_row(db: Database) -> ApiToken:
    async with db.read_session() as session:
        (row,) = await session.scalars(select(ApiToken))
        return row


@pytest.fixture
async def alice_id(app: AllInOne, db: Database) -> int:
    return await make_user(db, "alice")


@pytest.fixture
async def unscoped(alice_id: int, db: Database) -> str:
    return await make_token(db, "alice")


# --- tampering, on the token's JSON body ---------------------------------------


def _body(token: str) -> dict[str, Any]:
    text = token.removeprefix("pypi-")
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def _token(body: dict[str, Any]) -> str:
    raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    return "pypi-" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def drop_last_caveat(token: str) -> str:
    body = _body(token)
    body["c"] = body["c"][:-1]
    return _token(body)


def drop_first_caveat(token: str) -> str:
    body = _body(token)
    body["c"] = body["c"][1:]
    return _token(body)


def edit_caveat(token: str) -> str:
    body = _body(token)
    body["c"][0] = {"projects": ["beta"]}
    return _token(body)


def flip_signature_bit(token: str) -> str:
    body = _body(token)
    signature = bytearray(base64.urlsafe_b64decode(body["s"] + "="))
    signature[0] ^= 1
    body["s"] = base64.urlsafe_b64encode(bytes(signature)).rstrip(b"=").decode()
    return _token(body)


class TestNarrowing:
    async def test_restricted_token_uploads_only_to_the_named_projects(
        self, client: httpx.AsyncClient, db: Database, unscoped: str, tmp_path: Path
    ) -> None:
        narrowed = macaroons.restrict(unscoped, projects=["Alpha", "beta"])
        assert (await upload(client, wheel(tmp_path, "alpha"), token=narrowed)).status_code == 200
        assert (await upload(client, wheel(tmp_path, "beta"), token=narrowed)).status_code == 200
        response = await upload(client, wheel(tmp_path, "gamma"), token=narrowed)
        assert response.status_code == 403
        assert "scoped to alpha, beta" in response.text and "'gamma'" in response.text
        assert await project_names(db) == ["alpha", "beta"]

    async def test_unscoped_token_restricted_to_a_cannot_upload_to_b(
        self, client: httpx.AsyncClient, db: Database, unscoped: str, tmp_path: Path
    ) -> None:
        assert (await upload(client, wheel(tmp_path, "beta"), token=unscoped)).status_code == 200
        narrowed = macaroons.restrict(unscoped, projects=["alpha"])
        response = await upload(client, wheel(tmp_path, "beta", "2.0"), token=narrowed)
        assert response.status_code == 403
        assert "scoped to alpha" in response.text
        assert (await upload(client, wheel(tmp_path, "beta", "2.0"), token=unscoped)).status_code == 200

    async def test_restricted_to_a_past_expiry_is_refused(
        self, client: httpx.AsyncClient, db: Database, unscoped: str, tmp_path: Path
    ) -> None:
        narrowed = macaroons.restrict(unscoped, expires_at=datetime.now(UTC) - timedelta(seconds=5))
        response = await upload(client, wheel(tmp_path), token=narrowed)
        assert response.status_code == 403
        assert "expired" in response.text and "create a new one" in response.text
        assert await project_names(db) == []
        assert (await upload(client, wheel(tmp_path), token=unscoped)).status_code == 200

    async def test_not_before_in_the_future_is_refused(
        self, client: httpx.AsyncClient, db: Database, unscoped: str, tmp_path: Path
    ) -> None:
        narrowed = macaroons.restrict(unscoped, not_before=datetime.now(UTC) + timedelta(hours=1))
        response = await upload(client, wheel(tmp_path), token=narrowed)
        assert response.status_code == 403
        assert "not valid before" in response.text

    async def test_restricting_cannot_widen_a_scoped_token(
        self, client: httpx.AsyncClient, db: Database, alice_id: int, tmp_path: Path
    ) -> None:
        scoped = await make_token(db, "alice", projects=["alpha"])
        widened = macaroons.restrict(scoped, projects=["beta"])
        for name in ("alpha", "beta"):
            response = await upload(client, wheel(tmp_path, name), token=widened)
            assert response.status_code == 403, name
            assert "scoped to no project" in response.text
        assert await project_names(db) == []
        assert (await upload(client, wheel(tmp_path, "alpha"), token=scoped)).status_code == 200


class TestTampering:
    @pytest.mark.parametrize("tamper", [drop_last_caveat, drop_first_caveat, edit_caveat, flip_signature_bit])
    async def test_removed_or_edited_caveat_or_signature_is_invalid(
        self, client: httpx.AsyncClient, db: Database, alice_id: int, tmp_path: Path,
        tamper: Callable[[str], str],
    ) -> None:
        scoped = await make_token(db, "alice", projects=["alpha"])
        narrowed = macaroons.restrict(scoped, projects=["alpha"], expires_at=datetime.now(UTC) + timedelta(hours=1))
        forged = tamper(narrowed)
        assert macaroons.looks_like_macaroon(forged)  # well-formed: only the signature gives it away
        response = await upload(client, wheel(tmp_path), token=forged)
        assert response.status_code == 403
        assert "Invalid or non-existent API token" in response.text
        assert await project_names(db) == []


class TestFormatsAndKeys:
    async def test_opaque_first_format_token_still_authenticates(
        self, client: httpx.AsyncClient, db: Database, alice_id: int, tmp_path: Path
    ) -> None:
        secret = new_token_secret()
        async with db.write_session() as session:
            session.add(ApiToken(id=secrets.token_hex(16), user_id=alice_id, name="old",
                                 secret_hash=hash_token_secret(secret), projects=["alpha"]))
            await session.commit()
        assert (await upload(client, wheel(tmp_path), token=secret)).status_code == 200
        refused = await upload(client, wheel(tmp_path, "beta"), token=secret)
        assert refused.status_code == 403 and "scoped to alpha" in refused.text
        unknown = await upload(client, wheel(tmp_path, "alpha", "2.0"), token=new_token_secret())
        assert unknown.status_code == 403 and "Invalid" in unknown.text

    async def test_a_token_signed_with_a_fallback_key_authenticates_after_rotation(
        self, backend: Backend, db: Database, alice_id: int, tmp_path: Path
    ) -> None:
        old = await make_token(db, "alice")  # signed with TEST_SECRET_KEY
        rotated = backend.settings(tmp_path / "rotated", secret_key="the-new-key",
                                   secret_key_fallbacks=[TEST_SECRET_KEY])
        retired = backend.settings(tmp_path / "retired", secret_key="the-new-key")
        for settings, expected in ((rotated, 200), (retired, 403)):
            application = create_app(settings)
            async with application.lifespan(), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=application), base_url="http://testserver"
            ) as http:
                response = await upload(http, wheel(tmp_path), token=old)
            assert response.status_code == expected, response.text
        assert "Invalid or non-existent API token" in response.text

    async def test_authenticate_token_tries_each_key_in_turn(self, db: Database, unscoped: str) -> None:
        async with db.read_session() as session:
            identity = await authenticate_token(session, unscoped, keys=(b"new", TEST_KEYS[0]))
            assert identity.username == "alice" and identity.token_projects is None
            with pytest.raises(ForbiddenError, match="Invalid or non-existent"):
                await authenticate_token(session, unscoped, keys=(b"new",))


class TestLastUsed:
    @pytest.fixture
    async def token_updates(self, app: AllInOne) -> AsyncIterator[list[str]]:
        """UPDATE statements on api_tokens that the upload service sends."""
        upload_app = next(service for prefixes, service in app.routes if "/legacy" in prefixes)
        engine = upload_app.state.db.write_engine.sync_engine
        seen: list[str] = []

        def listener(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if statement.lstrip().upper().startswith("UPDATE API_TOKENS"):
                seen.append(statement)

        event.listen(engine, "before_cursor_execute", listener)
        yield seen
        event.remove(engine, "before_cursor_execute", listener)

    async def test_first_use_sets_it_a_use_within_the_resolution_writes_nothing_a_later_one_moves_it(
        self, client: httpx.AsyncClient, db: Database, unscoped: str, token_updates: list[str], tmp_path: Path
    ) -> None:
        built = wheel(tmp_path)  # built once: every use below is an identical (idempotent) upload
        assert (await token_row(db)).last_used is None
        before = datetime.now(UTC)
        assert (await upload(client, built, token=unscoped)).status_code == 200
        first = (await token_row(db)).last_used
        assert first is not None and before <= first <= datetime.now(UTC)
        assert len(token_updates) == 1

        assert (await upload(client, built, token=unscoped)).status_code == 200
        assert len(token_updates) == 1
        assert (await token_row(db)).last_used == first

        stale = datetime.now(UTC) - LAST_USED_RESOLUTION - timedelta(seconds=1)
        async with db.write_session() as session:
            await session.execute(update(ApiToken).values(last_used=stale))
            await session.commit()
        before = datetime.now(UTC)
        assert (await upload(client, built, token=unscoped)).status_code == 200
        assert len(token_updates) == 2
        moved = (await token_row(db)).last_used
        assert moved is not None and moved >= before

    async def test_a_refused_token_does_not_touch_last_used(
        self, client: httpx.AsyncClient, db: Database, unscoped: str, token_updates: list[str], tmp_path: Path
    ) -> None:
        expired = macaroons.restrict(unscoped, expires_at=datetime.now(UTC) - timedelta(seconds=5))
        assert (await upload(client, wheel(tmp_path), token=expired)).status_code == 403
        assert token_updates == []
        assert (await token_row(db)).last_used is None
