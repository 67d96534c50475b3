"""Authorization headers, token authentication and role checks (UPL-3)."""

from __future__ import annotations

import base64

import pytest

from shared.auth.service import OWNER, Identity, authenticate_token, require_role, token_from_authorization
from shared.db import Database
from shared.errors import ForbiddenError, NotAuthenticatedError
from tests.factories.accounts import TEST_KEYS, make_user, make_user_with_token


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class TestAuthorizationHeader:
    def test_basic_with_token_username(self) -> None:
        assert token_from_authorization(basic("__token__", "pypi-abc")) == "pypi-abc"

    def test_bearer(self) -> None:
        assert token_from_authorization("Bearer pypi-abc") == "pypi-abc"

    def test_missing_is_401_with_challenge(self) -> None:
        with pytest.raises(NotAuthenticatedError) as info:
            token_from_authorization(None)
        assert info.value.headers["WWW-Authenticate"].startswith("Basic")

    @pytest.mark.parametrize("header", ["Basic !!!", "Digest abc"])
    def test_malformed_or_unknown_scheme_is_401(self, header: str) -> None:
        with pytest.raises(NotAuthenticatedError):
            token_from_authorization(header)

    def test_username_password_is_403(self) -> None:
        with pytest.raises(ForbiddenError, match="API token"):
            token_from_authorization(basic("alice", "hunter2"))


class TestIdentityScope:
    def test_unscoped_token_covers_every_project(self) -> None:
        Identity(user_id=1, username="a", token_id="t", token_projects=None).check_token_scope("anything")

    def test_scoped_token_refuses_other_projects(self) -> None:
        identity = Identity(user_id=1, username="a", token_id="t", token_projects=frozenset({"demo"}))
        identity.check_token_scope("demo")
        with pytest.raises(ForbiddenError, match="scoped to demo"):
            identity.check_token_scope("other")


class TestAuthenticateToken:
    async def test_valid_token(self, app: object, db: Database) -> None:
        secret = await make_user_with_token(db, "alice", projects=["Demo"])
        async with db.read_session() as session:
            identity = await authenticate_token(session, secret, keys=TEST_KEYS)
        assert identity.username == "alice" and identity.token_projects == frozenset({"demo"})

    async def test_deactivated_user_is_refused(self, app: object, db: Database) -> None:
        from sqlalchemy import update

        from shared.schema import User

        secret = await make_user_with_token(db, "alice")
        async with db.write_session() as session:
            await session.execute(update(User).values(is_active=False))
            await session.commit()
        async with db.read_session() as session:
            with pytest.raises(ForbiddenError, match="deactivated"):
                await authenticate_token(session, secret, keys=TEST_KEYS)

    async def test_unknown_well_formed_token_is_refused(self, app: object, db: Database) -> None:
        async with db.read_session() as session:
            with pytest.raises(ForbiddenError, match="Invalid"):
                await authenticate_token(session, "pypi-" + "B" * 43, keys=TEST_KEYS)

    async def test_require_role_without_role(self, app: object, db: Database) -> None:
        user_id = await make_user(db, "alice")
        identity = Identity(user_id=user_id, username="alice", token_id="t", token_projects=None)
        async with db.read_session() as session:
            with pytest.raises(ForbiddenError, match="owner role"):
                await require_role(session, identity, project_id=999, project_name="demo", roles=(OWNER,))
