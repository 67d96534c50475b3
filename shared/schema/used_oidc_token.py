from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from shared.schema.base import Base, UTCDateTime


class UsedOidcToken(Base):
    """The ``jti`` of every OIDC ID token exchanged, kept until past its expiry (single use)."""

    __tablename__ = "used_oidc_tokens"

    issuer: Mapped[str] = mapped_column(String(255), primary_key=True)
    jti: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
