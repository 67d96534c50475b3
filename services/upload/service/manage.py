"""Maintainer actions on published data: yank, un-yank, delete.  Owners only.

Each is one journal event (MIR-2), so mirrors, the search index and the edge
cache all hear of it.  Deleting keeps the filename registry (POL-1); the blobs
stay in storage, invisible without their rows, for an operator to collect.
"""

from __future__ import annotations

from services.upload.repository import UploadRepository
from shared.audit import record_audit
from shared.auth.service import OWNER, Identity, require_role
from shared.db import WriteSession
from shared.errors import ForbiddenError, NotFoundError
from shared.events import JournalAction, record_event
from shared.names import normalize_name, version_key
from shared.schema import File, Project, Release

QUARANTINED = "quarantined"


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

    async def set_status(
        self, session: WriteSession, identity: Identity, *, project: str, status: str, reason: str | None
    ) -> Project:
        """PEP 792 (STS-1..3): owners archive, deprecate or re-activate; only administrators
        quarantine a project or lift a quarantine."""
        repo = UploadRepository(session)
        proj = await _require_project(repo, project)
        if QUARANTINED in (status, proj.status):
            _require_superuser(identity, proj.name)
        elif not identity.is_superuser:
            await require_role(repo.session, identity, project_id=proj.id, project_name=proj.name, roles=(OWNER,))
        proj.status, proj.status_reason = status, (reason or None) if status != "active" else None
        await _journal(repo, JournalAction.PROJECT_STATUS_CHANGED, proj, identity,
                       payload={"status": status, "reason": proj.status_reason})
        return proj

    async def delete_project(self, session: WriteSession, identity: Identity, *, project: str) -> None:
        repo = UploadRepository(session)
        proj = await _owned_project(repo, identity, project=project)
        await repo.delete_project(proj.id)
        await record_event(repo.session, JournalAction.PROJECT_DELETED, project_name=proj.name, project_id=None,
                           actor=identity.username)
        await _audit(repo, JournalAction.PROJECT_DELETED, proj.name, identity)


def _file_payload(file: File) -> dict[str, object]:
    return {"filename": file.filename, "path": file.path, "sha256": file.sha256}


async def _require_project(repo: UploadRepository, project: str) -> Project:
    proj = await repo.get_project(normalize_name(project))
    if proj is None:
        raise NotFoundError(f"No project named {project!r}.")
    return proj


def _require_superuser(identity: Identity, project_name: str) -> None:
    if not identity.is_superuser:
        raise ForbiddenError(
            f"Only index administrators may quarantine project {project_name!r} or lift its quarantine."
        )


async def _owned_project(repo: UploadRepository, identity: Identity, *, project: str) -> Project:
    proj = await _require_project(repo, project)
    await require_role(repo.session, identity, project_id=proj.id, project_name=proj.name, roles=(OWNER,))
    return proj


async def _owned_release(
    repo: UploadRepository, identity: Identity, *, project: str, version: str
) -> tuple[Project, Release]:
    proj = await _owned_project(repo, identity, project=project)
    release = await repo.get_release(proj.id, version_key(version))
    if release is None:
        raise NotFoundError(f"Project {proj.name!r} has no release {version!r}.")
    return proj, release


async def _journal(
    repo: UploadRepository, action: JournalAction, project: Project, identity: Identity, **fields: object
) -> None:
    await record_event(repo.session, action, project_name=project.name, project_id=project.id,
                       actor=identity.username, **fields)  # type: ignore[arg-type]
    await _audit(repo, action, project.name, identity, **fields)


async def _audit(
    repo: UploadRepository, action: JournalAction, project_name: str, identity: Identity, **fields: object
) -> None:
    """The same change in the project's audit log ("release_yanked" → "release:yanked"), with who and whence."""
    details = {key: value for key, value in fields.items() if key in ("version", "filename") and value}
    if isinstance(fields.get("payload"), dict):
        details.update({k: v for k, v in fields["payload"].items() if k in ("reason", "status")})
    await record_audit(repo.session, action.value.replace("_", ":", 1), actor_id=identity.user_id,
                       actor=identity.username, project_name=project_name,
                       details={**details, "token_id": identity.token_id})
