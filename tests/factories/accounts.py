"""Users and tokens, created through the same use cases the CLI runs."""

from __future__ import annotations

from datetime import timedelta

from services.accounts import service as accounts
from shared.db import Database

TEST_KEYS = (b"test-secret-key-not-for-production",)  # tests/conftest.py TEST_SECRET_KEY


async def make_user(
    db: Database, username: str = "alice", *, password: str = "correct horse battery", is_superuser: bool = False,
    email_verified: bool = False,
) -> int:
    async with db.write_session() as session:
        user = await accounts.create_user(session, username, email=f"{username}@example.org", password=password,
                                          is_superuser=is_superuser, email_verified=email_verified)
        await session.commit()
        return user.id


async def make_token(
    db: Database, username: str = "alice", *, projects: list[str] | None = None,
    expires_in: timedelta | None = None,
) -> str:
    async with db.write_session() as session:
        created = await accounts.create_token(session, username, keys=TEST_KEYS, projects=projects,
                                              expires_in=expires_in)
        await session.commit()
        return created.secret


async def make_user_with_token(db: Database, username: str = "alice", **token_options: object) -> str:
    await make_user(db, username)
    return await make_token(db, username, **token_options)  # type: ignore[arg-type]
