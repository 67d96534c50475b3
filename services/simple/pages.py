"""What a simple API page shows, independent of its serialization (STANDARDS JSON-11).

The service builds these from the database; :mod:`services.simple.render` turns
one model into both HTML and JSON, so the two views of a URL cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Final

ACTIVE: Final = "active"
ARCHIVED: Final = "archived"
QUARANTINED: Final = "quarantined"
DEPRECATED: Final = "deprecated"
#: PEP 792 project status markers (JSON-10, STS-3); no status means ``active``.
PROJECT_STATUSES: Final = frozenset({ACTIVE, ARCHIVED, QUARANTINED, DEPRECATED})


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One distribution file as listed on a project page (HTML-3..7, JSON-4..8).

    ``sha256`` and ``core_metadata_sha256`` are lowercase hex computed by the
    index and are rendered without escaping.  ``core_metadata_sha256`` is set
    only when a ``.metadata`` file is served, i.e. for wheels (MDF-1, MDF-3).
    ``yanked_reason`` is ignored unless ``yanked``; an empty reason counts as
    none (JSON-8).  ``upload_time`` is stored as aware UTC: a naive value is
    taken to be UTC already, another zone is converted (JSON-5).
    """

    filename: str
    url: str
    sha256: str
    size: int
    upload_time: datetime
    requires_python: str | None
    yanked: bool
    yanked_reason: str | None
    core_metadata_sha256: str | None
    version: str

    def __post_init__(self) -> None:
        if self.upload_time.tzinfo is not timezone.utc:
            object.__setattr__(self, "upload_time", _as_utc(self.upload_time))


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


@dataclass(frozen=True, slots=True)
class ProjectPage:
    """A project detail page (API-1, JSON-3).

    ``name`` is normalized (NAM-1).  ``files`` are rendered in the given order;
    ``versions`` are expected in PEP 440 order (VER-5) and rendered as given.
    ``last_serial`` is the project's latest journal serial (MIR-1, MIR-3).
    """

    name: str
    files: Sequence[FileEntry]
    versions: Sequence[str]
    last_serial: int
    status: str = ACTIVE
    status_reason: str | None = None

    def __post_init__(self) -> None:
        if self.status not in PROJECT_STATUSES:
            raise ValueError(f"unknown project status {self.status!r}")

    @property
    def is_active(self) -> bool:
        """Whether no status marker needs rendering (HTML-9, JSON-10)."""
        return self.status == ACTIVE

    @property
    def listed_files(self) -> Sequence[FileEntry]:
        """The files to show: none for a quarantined project (STS-2)."""
        return () if self.status == QUARANTINED else self.files

    @property
    def listed_versions(self) -> Sequence[str]:
        """The versions to show: none for a quarantined project, as its files are hidden (STS-2)."""
        return () if self.status == QUARANTINED else self.versions


@dataclass(frozen=True, slots=True)
class IndexPage:
    """The root project list (API-1, HTML-2, JSON-2).

    ``projects`` holds ``(normalized name, last serial)`` pairs, rendered in
    the given order; quarantined projects should already be left out (STS-2).
    ``last_serial`` is the highest serial overall (MIR-1).
    """

    projects: Sequence[tuple[str, int]]
    last_serial: int
