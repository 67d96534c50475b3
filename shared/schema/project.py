from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shared.schema.base import Base, BigId, UTCDateTime, utcnow

PROJECT_STATUSES = ("active", "archived", "quarantined", "deprecated")  # PEP 792


class Project(Base):
    """One project, identified only by its normalised name (NAM-2)."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)  # normalised (NAM-1)
    display_name: Mapped[str] = mapped_column(String(200))  # NAM-4
    status: Mapped[str] = mapped_column(String(20), default="active")
    status_reason: Mapped[str | None] = mapped_column(Text, default=None)
    last_serial: Mapped[int] = mapped_column(BigInteger, default=0)  # MIR-1
    total_size: Mapped[int] = mapped_column(BigInteger, default=0)  # UPL-12 project quota
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
