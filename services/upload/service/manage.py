"""Maintainer actions on published data: yank, un-yank, delete.  Owners only.

Each is one journal event (MIR-2), so mirrors, the search index and the edge
cache all hear of it.  Deleting keeps the filename registry (POL-1); the blobs
stay in storage, invisible without their rows, for an operator to collect.
"""

from __future__ import annotations

from packaging.utils import canonicalize_version

from services.upload.repository import UploadRepository
from shared.auth.service import OWNER, Identity, require_role
from shared.db import WriteSession
from shared.errors import NotFoundError
from shared.events import JournalAction, record_event
from shared.names import normalize_name
from shared.schema import File, Project, Release


class ManageService:
    async def yank_release(
        self, session: WriteSession, identity: Identity, *, project: str, version: str, reason: str | None
    ) -> Release:
        """YNK-1: release level; yanking again just updates the reason."""
        repo = UploadRepository(session)
        proj, release = await _owned_release(repo, identity, project=project, version=version)
        await repo.set_yanked(release.id, yanked=True, reason=reason or None)
        await _journal(repo, JournalAction.RELEASE_YANKED, proj, identity, version=release.version,
                       payload={"reason": reason or None})
        await session.refresh(release)
        return release

    async def unyank_release(self, session: WriteSession, identity: Identity, *, project: str, version: str) -> Release:
        """YNK-2."""
        repo = UploadRepository(session)
        proj, release = await _owned_release(repo, identity, project=project, version=version)
        await repo.set_yanked(release.id, yanked=False, reason=None)
        await _journal(repo, JournalAction.RELEASE_UNYANKED, proj, identity, version=release.version)
        await session.refresh(release)
        return release

    async def delete_file(
        self, session: WriteSession, identity: Identity, *, project: str, version: str, filename: str
    ) -> None:
        """POL-7: gone from both formats, serial bumped, filename never reusable."""
        repo = UploadRepository(session)
        proj, release = await _owned_release(repo, identity, project=project, version=version)
        file = await repo.get_file_by_filename(filename)
        if file is None or file.release_id != release.id:
            raise NotFoundError(f"No file {filename!r} in {proj.name} {release.version}.")
        await repo.delete_file(file.id)
        await repo.add_to_project_size(proj.id, -file.size)
        await _journal(repo, JournalAction.FILE_DELETED, proj, identity, version=release.version,
                       filename=file.filename, payload=_file_payload(file))

    async def delete_release(self, session: WriteSession, identity: Identity, *, project: str, version: str) -> None:
        repo = UploadRepository(session)
        proj, release = await _owned_release(repo, identity, project=project, version=version)
        files = await repo.files_of_release(release.id)
        await repo.delete_release(release.id)
        await repo.add_to_project_size(proj.id, -sum(f.size for f in files))
        await _journal(repo, JournalAction.RELEASE_DELETED, proj, identity, version=release.version,
                       payload={"files": [_file_payload(f) for f in files]})

    async def delete_project(self, session: WriteSession, identity: Identity, *, project: str) -> None:
        repo = UploadRepository(session)
        proj = await _owned_project(repo, identity, project=project)
        await repo.delete_project(proj.id)
        await record_event(repo.session, JournalAction.PROJECT_DELETED, project_name=proj.name, project_id=None,
                           actor=identity.username)


def _file_payload(file: File) -> dict[str, object]:
    return {"filename": file.filename, "path": file.path, "sha256": file.sha256}


async def _owned_project(repo: UploadRepository, identity: Identity, *, project: str) -> Project:
    name = normalize_name(project)
    proj = await repo.get_project(name)
    if proj is None:
        raise NotFoundError(f"No project named {project!r}.")
    await require_role(repo.session, identity, project_id=proj.id, project_name=proj.name, roles=(OWNER,))
    return proj


async def _owned_release(
    repo: UploadRepository, identity: Identity, *, project: str, version: str
) -> tuple[Project, Release]:
    proj = await _owned_project(repo, identity, project=project)
    release = await repo.get_release(proj.id, canonicalize_version(version))
    if release is None:
        raise NotFoundError(f"Project {proj.name!r} has no release {version!r}.")
    return proj, release


async def _journal(
    repo: UploadRepository, action: JournalAction, project: Project, identity: Identity, **fields: object
) -> None:
    await record_event(repo.session, action, project_name=project.name, project_id=project.id,
                       actor=identity.username, **fields)  # type: ignore[arg-type]
