"""Read the database directly, to assert on what a request left behind."""

from __future__ import annotations

from sqlalchemy import func, select

from shared.db import Database
from shared.events import JournalAction, record_event
from shared.schema import (
    ApiToken,
    AuditEvent,
    File,
    FilenameRegistry,
    JournalEntry,
    OidcPublisher,
    Project,
    RecoveryCode,
    Release,
    Role,
    RoleInvitation,
    User,
    UserSession,
)


PACKAGE_TABLES = (Project, Release, File, FilenameRegistry, JournalEntry, Role)
ACCOUNT_TABLES = (User, UserSession, ApiToken, OidcPublisher, RoleInvitation, AuditEvent, RecoveryCode)


async def count_rows(db: Database, *, tables: tuple[type, ...] = PACKAGE_TABLES) -> dict[str, int]:
    counts = {}
    async with db.read_session() as session:
        for model in tables:
            counts[model.__tablename__] = int(await session.scalar(select(func.count()).select_from(model)) or 0)
    return counts


async def count_account_rows(db: Database) -> dict[str, int]:
    return await count_rows(db, tables=ACCOUNT_TABLES)


async def journal(db: Database) -> list[tuple[int, str, str | None, str | None]]:
    async with db.read_session() as session:
        rows = await session.execute(
            select(JournalEntry.serial, JournalEntry.action, JournalEntry.version, JournalEntry.filename)
            .order_by(JournalEntry.serial)
        )
        return [tuple(r) for r in rows]


async def project(db: Database, name: str) -> Project | None:
    async with db.read_session() as session:
        return await session.scalar(select(Project).where(Project.name == name))


async def set_project_status(db: Database, name: str, status: str) -> None:
    async with db.write_session() as session:
        proj = await session.scalar(select(Project).where(Project.name == name))
        assert proj is not None
        proj.status = status
        await record_event(session, JournalAction.PROJECT_STATUS_CHANGED, project_name=name, project_id=proj.id,
                           payload={"status": status})  # MIR-2: a status change is a change
        await session.commit()


async def grant_role(db: Database, username: str, project_name: str, role_name: str) -> None:
    from shared.schema import User

    async with db.write_session() as session:
        user = await session.scalar(select(User).where(User.normalized_username == username.lower()))
        proj = await session.scalar(select(Project).where(Project.name == project_name))
        assert user is not None and proj is not None
        session.add(Role(user_id=user.id, project_id=proj.id, role_name=role_name))
        await session.commit()
