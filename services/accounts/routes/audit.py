"""The audit log of the caller's account and of the projects it owns."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.accounts.deps import CurrentAccount, WriteDb
from services.accounts.schemas import AuditEventPublic, AuditPage
from services.accounts.service import audit
from shared.schema import AuditEvent
from shared.web.routing import AutoCommitRoute

router = APIRouter(prefix="/api/account", tags=["audit"], route_class=AutoCommitRoute)

# An event id from ``next_before``; beyond the database's 64-bit range is a malformed request (422).
Before = Annotated[int | None, Query(ge=1, le=2**63 - 1)]


def _page(events: list[AuditEvent], *, limit: int) -> AuditPage:
    return AuditPage(
        events=[AuditEventPublic(id=e.id, created=e.created, action=e.action, actor=e.actor, ip=e.ip,
                                 project=e.project_name, details=e.details) for e in events],
        next_before=events[-1].id if len(events) == limit and events else None,
    )


@router.get("/events", response_model=AuditPage)
async def list_account_events(account: CurrentAccount, write: WriteDb, before: Before = None,
                              limit: int = Query(50, ge=1, le=audit.MAX_PAGE)) -> AuditPage:
    """Who did what to the caller's account, from which address, newest first."""
    events = await audit.account_events(write, account=account, before=before, limit=limit)
    return _page(events, limit=limit)


@router.get("/projects/{project}/events", response_model=AuditPage)
async def list_project_events(project: str, account: CurrentAccount, write: WriteDb, before: Before = None,
                              limit: int = Query(50, ge=1, le=audit.MAX_PAGE)) -> AuditPage:
    """Who did what to a project (uploads, yanks, roles, publishers), newest first; owners only."""
    events = await audit.project_events(write, account=account, project=project, before=before, limit=limit)
    return _page(events, limit=limit)
