"""The audit log: who did what to an account or a project, and from which address.

Each event is written in the same transaction as the change it records, so the
log never claims a change that did not commit.  The client address comes from
``client_ip``, which the request middleware sets for every request (behind a
proxy, uvicorn's ``--forwarded-allow-ips`` decides which address that is).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.schema import AuditEvent

client_ip: ContextVar[str | None] = ContextVar("client_ip", default=None)


async def record_audit(
    session: AsyncSession,
    action: str,
    *,
    actor_id: int | None,
    actor: str | None,
    user_id: int | None = None,
    project_name: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event about a user (``user_id``) and/or a project (``project_name``, normalised)."""
    event = AuditEvent(
        action=action, actor_id=actor_id, actor=actor, user_id=user_id, project_name=project_name,
        ip=client_ip.get(), details=details or {},
    )
    session.add(event)
    await session.flush()
    return event
