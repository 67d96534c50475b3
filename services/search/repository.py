"""Every query of the search service's indexer: a project and its releases, by name."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.schema import JournalEntry, Project, Release


class SearchRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def project(self, name: str) -> Project | None:
        return await self.session.scalar(select(Project).where(Project.name == name))

    async def releases(self, project_id: int) -> list[Release]:
        return list(await self.session.scalars(select(Release).where(Release.project_id == project_id)))

    async def project_names(self, *, batch: int = 1000) -> AsyncIterator[str]:
        """Every project name, in order, a batch at a time (keyset paging: no long transaction)."""
        last = ""
        while True:
            names = list(await self.session.scalars(
                select(Project.name).where(Project.name > last).order_by(Project.name).limit(batch)))
            if not names:
                return
            for name in names:
                yield name
            last = names[-1]

    async def newest_serial(self) -> int:
        return int(await self.session.scalar(select(func.max(JournalEntry.serial))) or 0)

    async def changed_since(self, serial: int) -> list[str]:
        """The projects with a journal entry after ``serial``."""
        return list(await self.session.scalars(
            select(JournalEntry.project_name).where(JournalEntry.serial > serial).distinct()))
