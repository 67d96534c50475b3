"""Every query the upload service runs."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.schema import File, FilenameRegistry, Project, Release, Role


class UploadRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_project(self, name: str) -> Project | None:
        return await self.session.scalar(select(Project).where(Project.name == name))

    async def get_release(self, project_id: int, canonical_version: str) -> Release | None:
        return await self.session.scalar(
            select(Release).where(Release.project_id == project_id, Release.canonical_version == canonical_version)
        )

    async def get_file_by_filename(self, filename: str) -> File | None:
        return await self.session.scalar(select(File).where(File.filename == filename))

    async def get_file_by_blake2b(self, digest: str) -> File | None:
        return await self.session.scalar(select(File).where(File.blake2b_256 == digest))

    async def filename_was_used(self, filename: str) -> bool:
        found = await self.session.scalar(select(FilenameRegistry.filename).where(FilenameRegistry.filename == filename))
        return found is not None

    async def release_has_sdist(self, release_id: int) -> bool:
        found = await self.session.scalar(
            select(File.id).where(File.release_id == release_id, File.packagetype == "sdist").limit(1)
        )
        return found is not None

    async def add(self, obj: object) -> None:
        self.session.add(obj)
        await self.session.flush()

    async def add_to_project_size(self, project_id: int, delta: int) -> None:
        await self.session.execute(
            update(Project).where(Project.id == project_id).values(total_size=Project.total_size + delta)
        )

    async def files_of_release(self, release_id: int) -> list[File]:
        return list(await self.session.scalars(select(File).where(File.release_id == release_id)))


    async def delete_file(self, file_id: int) -> None:
        await self.session.execute(delete(File).where(File.id == file_id))

    async def delete_release(self, release_id: int) -> None:
        await self.session.execute(delete(File).where(File.release_id == release_id))
        await self.session.execute(delete(Release).where(Release.id == release_id))

    async def delete_project(self, project_id: int) -> None:
        await self.session.execute(delete(File).where(File.project_id == project_id))
        await self.session.execute(delete(Release).where(Release.project_id == project_id))
        await self.session.execute(delete(Role).where(Role.project_id == project_id))
        await self.session.execute(delete(Project).where(Project.id == project_id))

    async def set_yanked(self, release_id: int, *, yanked: bool, reason: str | None) -> None:
        await self.session.execute(
            update(Release).where(Release.id == release_id).values(yanked=yanked, yanked_reason=reason)
        )
