from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.schema.base import Base, BigId, UTCDateTime, utcnow


class JournalEntry(Base):
    """One change to package data, written in the change's own transaction (MIR-2).

    ``serial`` only grows; SQLite's AUTOINCREMENT keeps it from reusing the
    serial of a deleted last row.
    """

    __tablename__ = "journal"
    __table_args__ = {"sqlite_autoincrement": True}

    serial: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    action: Mapped[str] = mapped_column(String(40))
    project_name: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[str | None] = mapped_column(String(100), default=None)
    filename: Mapped[str | None] = mapped_column(String(255), default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor: Mapped[str | None] = mapped_column(String(100), default=None)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
