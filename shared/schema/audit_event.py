from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.schema.base import Base, BigId, UTCDateTime, utcnow


class AuditEvent(Base):
    """Who did what, from where, to an account or a project (readable by its owner).

    ``project_name`` is kept without a foreign key so a project's history outlives it.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_user", "user_id", "id"),
        Index("ix_audit_events_project", "project_name", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(60))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), default=None)
    project_name: Mapped[str | None] = mapped_column(String(200), default=None)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    actor: Mapped[str | None] = mapped_column(String(200), default=None)
    ip: Mapped[str | None] = mapped_column(String(45), default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
