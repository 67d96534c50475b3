from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.schema.base import Base, BigId, UTCDateTime, utcnow

PUBLISHER_KINDS = ("github", "gitlab")


class OidcPublisher(Base):
    """A trusted publisher: a CI workflow allowed to mint upload tokens for one project.

    A *pending* publisher names a project that does not exist yet (``pending_project_name``);
    its first use creates the project, owned by the user who registered it.

    GitHub: owner = repository owner, owner_id = its numeric id, repository = repository name,
    workflow = workflow file name.  GitLab: owner = namespace, repository = project,
    workflow = CI config file path.
    """

    __tablename__ = "oidc_publishers"
    __table_args__ = (
        CheckConstraint("(project_id IS NULL) <> (pending_project_name IS NULL)", name="project_or_pending"),
        Index("ix_oidc_publishers_lookup", "kind", "owner", "repository"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True, default=None
    )
    pending_project_name: Mapped[str | None] = mapped_column(String(200), index=True, default=None)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    owner: Mapped[str] = mapped_column(String(200))  # stored lower-cased
    owner_id: Mapped[str | None] = mapped_column(String(100), default=None)
    repository: Mapped[str] = mapped_column(String(200))  # stored lower-cased
    workflow: Mapped[str] = mapped_column(String(255))
    environment: Mapped[str | None] = mapped_column(String(255), default=None)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
