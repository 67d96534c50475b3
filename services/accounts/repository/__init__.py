"""Every query of the accounts service: users, sessions, tokens, roles and the audit log here;
trusted publishing in :mod:`.publishing`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.schema import (
    ApiToken,
    AuditEvent,
    Email,
    Project,
    RecoveryCode,
    Role,
    RoleInvitation,
    User,
    UserSession,
)


class AccountsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, obj: object) -> None:
        self.session.add(obj)
        await self.session.flush()

    async def delete(self, obj: object) -> None:
        await self.session.delete(obj)
        await self.session.flush()

    # Users and emails

    async def get_user(self, normalized_username: str) -> User | None:
        return await self.session.scalar(select(User).where(User.normalized_username == normalized_username))

    async def get_user_by_id(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def get_user_by_email(self, email: str) -> User | None:
        return await self.session.scalar(select(User).join(Email, Email.user_id == User.id).where(Email.email == email))

    async def email_taken(self, email: str) -> bool:
        return await self.session.scalar(select(Email.id).where(Email.email == email)) is not None

    async def emails_of(self, user_id: int) -> list[Email]:
        return list(await self.session.scalars(select(Email).where(Email.user_id == user_id).order_by(Email.id)))

    async def primary_email(self, user_id: int) -> Email | None:
        return await self.session.scalar(
            select(Email).where(Email.user_id == user_id).order_by(Email.primary.desc(), Email.id).limit(1)
        )

    async def get_email(self, email_id: int) -> Email | None:
        return await self.session.get(Email, email_id)

    # Sessions

    async def get_session_by_hash(self, secret_hash: str) -> tuple[UserSession, User] | None:
        row = (await self.session.execute(
            select(UserSession, User).join(User, User.id == UserSession.user_id)
            .where(UserSession.secret_hash == secret_hash)
        )).first()
        return (row[0], row[1]) if row else None

    async def delete_sessions(self, user_id: int, *, except_id: str | None = None) -> None:
        statement = delete(UserSession).where(UserSession.user_id == user_id)
        if except_id is not None:
            statement = statement.where(UserSession.id != except_id)
        await self.session.execute(statement)

    async def delete_expired_sessions(self, now: datetime) -> None:
        await self.session.execute(delete(UserSession).where(UserSession.expires_at <= now))

    # API tokens

    async def get_token(self, token_id: str) -> ApiToken | None:
        return await self.session.get(ApiToken, token_id)

    async def get_token_by_hash(self, secret_hash: str) -> ApiToken | None:
        return await self.session.scalar(select(ApiToken).where(ApiToken.secret_hash == secret_hash))

    async def tokens_of(self, user_id: int) -> list[ApiToken]:
        return list(await self.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created, ApiToken.id)
        ))

    async def revoke_tokens_of(self, user_id: int, *, now: datetime) -> None:
        await self.session.execute(
            update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None)).values(revoked_at=now)
        )

    # Recovery codes

    async def recovery_codes_of(self, user_id: int) -> list[RecoveryCode]:
        return list(await self.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user_id)))

    async def delete_recovery_codes(self, user_id: int) -> None:
        await self.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))

    async def burn_recovery_code(self, user_id: int, code_hash: str, *, now: datetime) -> bool:
        """Burn an unused code; False when there is none (atomic: a code is burned once)."""
        result = await self.session.execute(
            update(RecoveryCode)
            .where(RecoveryCode.user_id == user_id, RecoveryCode.code_hash == code_hash,
                   RecoveryCode.burned_at.is_(None))
            .values(burned_at=now)
        )
        return result.rowcount == 1

    async def claim_totp_step(self, user_id: int, step: int) -> bool:
        """Record ``step`` as used unless it (or a later one) already was (atomic: refuses reuse)."""
        result = await self.session.execute(
            update(User)
            .where(User.id == user_id, (User.totp_last_step.is_(None)) | (User.totp_last_step < step))
            .values(totp_last_step=step)
        )
        return result.rowcount == 1

    # Projects and roles

    async def get_project(self, normalized_name: str, *, for_update: bool = False) -> Project | None:
        statement = select(Project).where(Project.name == normalized_name)
        if for_update:
            statement = statement.with_for_update()
        return await self.session.scalar(statement)

    async def role_of(self, user_id: int, project_id: int) -> Role | None:
        return await self.session.scalar(select(Role).where(Role.user_id == user_id, Role.project_id == project_id))

    async def get_role(self, role_id: int, *, project_id: int) -> Role | None:
        return await self.session.scalar(select(Role).where(Role.id == role_id, Role.project_id == project_id))

    async def roles_on(self, project_id: int) -> list[tuple[Role, User]]:
        rows = await self.session.execute(
            select(Role, User).join(User, User.id == Role.user_id)
            .where(Role.project_id == project_id).order_by(Role.id)
        )
        return [(role, user) for role, user in rows]

    async def count_owners(self, project_id: int) -> int:
        return await self.session.scalar(
            select(func.count()).select_from(Role).where(Role.project_id == project_id, Role.role_name == "Owner")
        ) or 0

    async def projects_of(self, user_id: int) -> list[tuple[Project, Role]]:
        rows = await self.session.execute(
            select(Project, Role).join(Role, Role.project_id == Project.id)
            .where(Role.user_id == user_id).order_by(Project.name)
        )
        return [(project, role) for project, role in rows]

    # Invitations

    async def invitation_for(self, project_id: int, invitee_id: int) -> RoleInvitation | None:
        return await self.session.scalar(
            select(RoleInvitation).where(RoleInvitation.project_id == project_id,
                                         RoleInvitation.invitee_id == invitee_id)
        )

    async def get_invitation(self, invitation_id: int, *, for_update: bool = False) -> RoleInvitation | None:
        statement = select(RoleInvitation).where(RoleInvitation.id == invitation_id)
        if for_update:  # answering or revoking: a concurrent answer waits, then finds it gone
            statement = statement.with_for_update()
        return await self.session.scalar(statement)

    async def invitations_on(self, project_id: int) -> list[tuple[RoleInvitation, User]]:
        rows = await self.session.execute(
            select(RoleInvitation, User).join(User, User.id == RoleInvitation.invitee_id)
            .where(RoleInvitation.project_id == project_id).order_by(RoleInvitation.id)
        )
        return [(invitation, user) for invitation, user in rows]

    async def invitations_of(self, user_id: int) -> list[tuple[RoleInvitation, Project]]:
        rows = await self.session.execute(
            select(RoleInvitation, Project).join(Project, Project.id == RoleInvitation.project_id)
            .where(RoleInvitation.invitee_id == user_id).order_by(RoleInvitation.id)
        )
        return [(invitation, project) for invitation, project in rows]

    # Audit log

    async def audit_events(
        self, *, user_id: int | None = None, project_name: str | None = None, before: int | None, limit: int
    ) -> list[AuditEvent]:
        statement = select(AuditEvent)
        if user_id is not None:
            statement = statement.where(AuditEvent.user_id == user_id)
        if project_name is not None:
            statement = statement.where(AuditEvent.project_name == project_name)
        if before is not None:
            statement = statement.where(AuditEvent.id < before)
        return list(await self.session.scalars(statement.order_by(AuditEvent.id.desc()).limit(limit)))
