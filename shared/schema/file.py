from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shared.schema.base import Base, BigId, UTCDateTime, utcnow


class File(Base):
    """One distribution file (POL-3). ``path`` is its content-addressed storage key."""

    __tablename__ = "files"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255), unique=True)
    packagetype: Mapped[str] = mapped_column(String(20))
    python_version: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    blake2b_256: Mapped[str] = mapped_column(String(64), unique=True)  # POL-2
    md5: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(400), unique=True)
    requires_python: Mapped[str | None] = mapped_column(Text, default=None)  # POL-6
    metadata_sha256: Mapped[str | None] = mapped_column(String(64), default=None)  # PEP 658
    upload_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
