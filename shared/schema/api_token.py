from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.schema.base import Base, UTCDateTime, utcnow


class ApiToken(Base):
    """An API token: a user's, or one minted for a trusted publisher (``publisher_id``).

    Current tokens are macaroon-like (shared/auth/macaroons.py): the server stores no
    secret for them; ``secret_hash`` is kept only for the first, opaque token format.
    """

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # public identifier (hex)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    publisher_id: Mapped[int | None] = mapped_column(
        ForeignKey("oidc_publishers.id", ondelete="CASCADE"), index=True, default=None
    )
    name: Mapped[str] = mapped_column(String(100), default="")
    secret_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    projects: Mapped[list[str] | None] = mapped_column(JSON, default=None)  # normalised names; None = all
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_used: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
