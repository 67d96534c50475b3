"""Every query the simple-index service runs. Reads only; Core selects where
the row count can be large (a project page may list 10,000+ files)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.schema import File, JournalEntry, Project, Release


@dataclass(frozen=True, slots=True)
class ProjectHead:
    id: int
    name: str
    display_name: str
    last_serial: int
    status: str
    status_reason: str | None


@dataclass(frozen=True, slots=True)
class StoredFile:
    path: str
    size: int
    sha256: str
    metadata_sha256: str | None
    project_name: str
    project_status: str


_FILE_COLUMNS = (
    File.filename, File.path, File.sha256, File.blake2b_256, File.md5, File.size, File.upload_time,
    File.requires_python, File.metadata_sha256, File.packagetype, File.python_version,
    Release.version, Release.yanked, Release.yanked_reason,
)


_files = File.__table__.c
_releases = Release.__table__.c
# What a project page shows, in FileEntry's order (plain table columns: this query may return 10,000+ rows).
_PAGE_COLUMNS = (
    _files.filename, _files.path, _files.sha256, _files.size, _files.upload_time, _files.requires_python,
    _releases.yanked, _releases.yanked_reason, _files.metadata_sha256, _releases.version,
)


@dataclass(frozen=True, slots=True)
class JournalRow:
    serial: int
    project: str
    version: str | None
    action: str
    filename: str | None
    time: datetime


class SimpleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_project_head(self, name: str) -> ProjectHead | None:
        row = (
            await self.session.execute(
                select(Project.id, Project.name, Project.display_name, Project.last_serial, Project.status,
                       Project.status_reason).where(Project.name == name)
            )
        ).first()
        return ProjectHead(*row) if row else None

    async def list_projects(self) -> list[tuple[str, int]]:
        """Every listed project (STS-2: quarantined ones are dropped) with its serial."""
        rows = await self.session.execute(
            select(Project.name, Project.last_serial).where(Project.status != "quarantined").order_by(Project.name)
        )
        return [(name, serial) for name, serial in rows]

    async def global_serial(self) -> int:
        return int(await self.session.scalar(select(func.coalesce(func.max(JournalEntry.serial), 0))) or 0)

    async def journal_since(self, since: int, *, limit: int) -> list[JournalRow]:
        """Journal rows after ``since`` in serial order (serials are handed out in commit order)."""
        rows = await self.session.execute(
            select(JournalEntry.serial, JournalEntry.project_name, JournalEntry.version, JournalEntry.action,
                   JournalEntry.filename, JournalEntry.created)
            .where(JournalEntry.serial > since).order_by(JournalEntry.serial).limit(limit)
        )
        return [JournalRow(*row) for row in rows]

    async def page_files(self, project_id: int) -> list[tuple[Any, ...]]:
        """Rows with the columns of ``_PAGE_COLUMNS``, unordered (the caller sorts)."""
        result = await self.session.execute(
            select(*_PAGE_COLUMNS).join_from(File.__table__, Release.__table__, _releases.id == _files.release_id)
            .where(_files.project_id == project_id)
        )
        return result.all()

    async def project_files(self, project_id: int) -> list[Any]:
        """Rows with the columns of ``_FILE_COLUMNS``, in filename order."""
        result = await self.session.execute(
            select(*_FILE_COLUMNS).join(Release, Release.id == File.release_id)
            .where(File.project_id == project_id).order_by(File.filename)
        )
        return list(result.all())

    async def project_versions(self, project_id: int) -> list[str]:
        return list(await self.session.scalars(select(Release.version).where(Release.project_id == project_id)))

    async def project_releases(self, project_id: int) -> list[Release]:
        return list(await self.session.scalars(select(Release).where(Release.project_id == project_id)))

    async def get_stored_file(self, path: str) -> StoredFile | None:
        row = (
            await self.session.execute(
                select(File.path, File.size, File.sha256, File.metadata_sha256, Project.name, Project.status)
                .join(Project, Project.id == File.project_id).where(File.path == path)
            )
        ).first()
        return StoredFile(*row) if row else None



