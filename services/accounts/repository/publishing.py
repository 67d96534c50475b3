"""The queries of trusted publishing: publishers and the single-use record of ID tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.accounts.repository import AccountsRepository
from shared.schema import OidcPublisher, UsedOidcToken


class PublishingRepository(AccountsRepository):
    """Trusted publishers and used ID tokens, beside the account queries it inherits."""

    async def get(self, publisher_id: int) -> OidcPublisher | None:
        return await self.session.get(OidcPublisher, publisher_id)

    async def lock(self, publisher_id: int) -> OidcPublisher | None:
        """Re-read a publisher under a row lock (two first uses of a pending publisher queue here)."""
        return await self.session.scalar(
            select(OidcPublisher).where(OidcPublisher.id == publisher_id).with_for_update()
            .execution_options(populate_existing=True)
        )

    async def of_project(self, project_id: int) -> list[OidcPublisher]:
        return list(await self.session.scalars(
            select(OidcPublisher).where(OidcPublisher.project_id == project_id).order_by(OidcPublisher.id)
        ))

    async def pending_of(self, user_id: int) -> list[OidcPublisher]:
        return list(await self.session.scalars(
            select(OidcPublisher)
            .where(OidcPublisher.added_by_id == user_id, OidcPublisher.pending_project_name.is_not(None))
            .order_by(OidcPublisher.id)
        ))

    async def matching(self, kind: str, *, owner: str, repository: str) -> list[OidcPublisher]:
        """Publishers for one repository; those of existing projects first."""
        return list(await self.session.scalars(
            select(OidcPublisher)
            .where(OidcPublisher.kind == kind, OidcPublisher.owner == owner, OidcPublisher.repository == repository)
            .order_by(OidcPublisher.project_id.is_(None), OidcPublisher.id)
        ))

    async def same_as(self, publisher: OidcPublisher) -> OidcPublisher | None:
        return await self.session.scalar(select(OidcPublisher).where(
            OidcPublisher.kind == publisher.kind, OidcPublisher.owner == publisher.owner,
            OidcPublisher.repository == publisher.repository, OidcPublisher.workflow == publisher.workflow,
            OidcPublisher.environment.is_not_distinct_from(publisher.environment),
            OidcPublisher.project_id.is_not_distinct_from(publisher.project_id),
            OidcPublisher.pending_project_name.is_not_distinct_from(publisher.pending_project_name),
        ))

    async def delete_pending_for(self, project_name: str) -> None:
        await self.session.execute(delete(OidcPublisher).where(OidcPublisher.pending_project_name == project_name))

    async def claim_jti(self, *, issuer: str, jti: str, expires_at: datetime) -> bool:
        """Record an ID token as used; False when it already was (atomic on both engines)."""
        dialect = self.session.bind.dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(UsedOidcToken).values(issuer=issuer, jti=jti, expires_at=expires_at)
            .on_conflict_do_nothing(index_elements=["issuer", "jti"]).returning(UsedOidcToken.jti)
        )
        return (await self.session.execute(statement)).first() is not None

    async def forget_expired_jtis(self, now: datetime) -> None:
        await self.session.execute(delete(UsedOidcToken).where(UsedOidcToken.expires_at < now))
