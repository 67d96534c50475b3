"""Every query the accounts service runs."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.schema import ApiToken, Email, User


class AccountsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_user(self, normalized_username: str) -> User | None:
        return await self.session.scalar(select(User).where(User.normalized_username == normalized_username))

    async def email_taken(self, email: str) -> bool:
        return await self.session.scalar(select(Email.id).where(Email.email == email)) is not None

    async def add(self, obj: object) -> None:
        self.session.add(obj)
        await self.session.flush()

    async def get_token(self, token_id: str) -> ApiToken | None:
        return await self.session.get(ApiToken, token_id)

    async def get_token_by_hash(self, secret_hash: str) -> ApiToken | None:
        return await self.session.scalar(select(ApiToken).where(ApiToken.secret_hash == secret_hash))

    async def tokens_of(self, user_id: int) -> list[ApiToken]:
        return list(await self.session.scalars(select(ApiToken).where(ApiToken.user_id == user_id)
                                               .order_by(ApiToken.created)))
