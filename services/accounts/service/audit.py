"""Reading the audit log: a user's own account, or a project's (owners only)."""

from __future__ import annotations

from services.accounts.repository import AccountsRepository
from services.accounts.service.roles import find_project, require_project_role
from services.accounts.service.sessions import Account
from shared.auth.service import OWNER
from shared.db import WriteSession
from shared.schema import AuditEvent

MAX_PAGE = 200


async def account_events(
    session: WriteSession, *, account: Account, before: int | None, limit: int
) -> list[AuditEvent]:
    return await AccountsRepository(session).audit_events(user_id=account.user_id, before=before,
                                                          limit=min(limit, MAX_PAGE))


async def project_events(
    session: WriteSession, *, account: Account, project: str, before: int | None, limit: int
) -> list[AuditEvent]:
    repo = AccountsRepository(session)
    proj = await find_project(repo, project)
    await require_project_role(repo, account, proj, OWNER)
    return await repo.audit_events(project_name=proj.name, before=before, limit=min(limit, MAX_PAGE))
