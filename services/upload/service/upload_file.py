"""Publishing one file: the pipeline of DESIGN.md "Writes: one order, always".

validate the form and filename → authorise → check the filename is free →
inspect the archive (in a thread) → store the blob at its content-addressed
key → one transaction: project, release, file, filename registry and journal.
The unique constraints decide races; the loser re-checks and answers 200
(identical bytes, UPL-9) or 400 (different bytes, UPL-10), never 500.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from dataclasses import dataclass, field

import structlog
from sqlalchemy.exc import IntegrityError

from services.upload.metrics import record_stored_file
from services.upload.errors import (
    DigestMismatchError,
    DuplicateContentError,
    DuplicateSdistError,
    FileAlreadyExistsError,
    FilenamePreviouslyUsedError,
    FileTooLargeError,
    InvalidFormError,
    ProjectNotAcceptingUploadsError,
)
from services.upload.multipart import SpooledFile, UploadedForm
from services.upload.repository import UploadRepository
from services.upload.validation import check_filetype, inspect_distribution, parse_distribution_filename
from services.upload.validation.form import UploadForm, check_form_against_metadata, parse_upload_form
from services.upload.validation.types import InspectedDistribution, ParsedFilename, ValidationPolicy
from shared.audit import record_audit
from shared.auth.service import MAINTAINER, OWNER, Identity, check_upload_policy, require_role
from shared.config import UploadSettings
from shared.db import ReadSession, WriteSession
from shared.errors import ForbiddenError
from shared.events import JournalAction, record_event
from shared.names import version_key
from shared.ratelimit import NullRateLimiter, RateLimiter, enforce
from shared.ratelimit.policies import PROJECT_CREATION, TOO_MANY_PROJECTS
from shared.schema import File, FilenameRegistry, Project, Release, Role
from shared.storage import BlobStorage, blob_key, metadata_key

log = structlog.get_logger()

CLOSED_STATUSES = ("archived", "quarantined")  # STS-1
DB_ATTEMPTS = 3


@dataclass
class UploadResult:
    created: bool
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class _Accepted:
    """Everything the database step needs about an accepted upload."""

    identity: Identity
    spooled: SpooledFile
    parsed: ParsedFilename
    dist: InspectedDistribution
    key: str


class UploadService:
    def __init__(self, *, storage: BlobStorage, settings: UploadSettings, limiter: RateLimiter | None = None) -> None:
        self.storage = storage
        self.settings = settings
        self.limiter = limiter or NullRateLimiter()
        self.policy = ValidationPolicy(
            allow_local_versions=settings.allow_local_versions,
            allow_linux_platform=settings.allow_linux_platform,
            allow_direct_references=settings.allow_direct_references,
        )

    async def upload_file(
        self, *, read: ReadSession, write: WriteSession, identity: Identity, form: UploadedForm
    ) -> UploadResult:
        upload = parse_upload_form(form.fields)
        spooled = _require_file(form)
        parsed = parse_distribution_filename(spooled.filename, policy=self.policy)
        check_filetype(parsed, filetype=upload.filetype, pyversion=upload.pyversion)
        check_digests(upload, spooled)
        await self._authorize(UploadRepository(read), identity=identity, parsed=parsed)
        if await _check_filename_free(UploadRepository(read), spooled):
            return UploadResult(created=False)
        dist = await asyncio.to_thread(inspect_distribution, spooled.path, spooled.filename, policy=self.policy)
        warnings = [*dist.warnings, *check_form_against_metadata(upload, dist.metadata)]
        await self._precheck(UploadRepository(read), spooled=spooled, dist=dist)
        key = await self._store_blobs(spooled, dist)
        accepted = _Accepted(identity=identity, spooled=spooled, parsed=parsed, dist=dist, key=key)
        created = await self._record_with_retries(write, accepted)
        if created:
            log.info("file_uploaded", filename=spooled.filename, project=parsed.normalized_name, size=spooled.size)
            record_stored_file(spooled.size)
        return UploadResult(created=created, warnings=warnings)

    async def _authorize(self, repo: UploadRepository, *, identity: Identity, parsed: ParsedFilename) -> None:
        """UPL-3: a token for this project, and a role on it if it exists (early, before unpacking);
        the index's 2FA and verified-email policy; a limit on how fast one user creates projects."""
        check_upload_policy(identity, require_2fa=bool(self.settings.upload_requires_2fa),
                            require_verified_email=bool(self.settings.upload_requires_verified_email))
        project = await repo.get_project(parsed.normalized_name)
        if project is None:
            identity.check_token_scope(parsed.normalized_name)
            if identity.user_id is None:
                raise ForbiddenError(
                    f"Project {parsed.normalized_name!r} does not exist, and a trusted publisher cannot create "
                    "one: register a pending publisher for it instead."
                )
            await enforce(self.limiter, PROJECT_CREATION, str(identity.user_id), message=TOO_MANY_PROJECTS)
            return
        _check_project_open(project)
        await require_role(
            repo.session, identity, project_id=project.id, project_name=project.name, roles=(OWNER, MAINTAINER)
        )

    async def _precheck(self, repo: UploadRepository, *, spooled: SpooledFile, dist: InspectedDistribution) -> None:
        """The state checks of the database step, done early so that the common rejections
        happen before any blob is written (the transaction repeats them authoritatively)."""
        await _check_content_is_new(repo, spooled)
        project = await repo.get_project(dist.filename.normalized_name)
        if project is None:
            return
        self._check_quota(project, spooled.size)
        release = await repo.get_release(project.id, version_key(dist.metadata.version))
        if release is not None and dist.filename.packagetype == "sdist":
            await _check_single_sdist(repo, release)

    async def _store_blobs(self, spooled: SpooledFile, dist: InspectedDistribution) -> str:
        """Step 3: content-addressed and idempotent; a blob without a row is invisible.

        The spooled file is handed over (``move=True``): local storage renames it into place
        instead of copying it, so it must not be read after this; the route deletes whatever is left.
        """
        key = blob_key(spooled.blake2b_256, spooled.filename)
        await self.storage.put_file(key, spooled.path, move=True)
        if dist.metadata_bytes is not None:
            await self.storage.put_bytes(metadata_key(key), dist.metadata_bytes)  # MDF-1
        return key

    async def _record_with_retries(self, write: WriteSession, accepted: _Accepted) -> bool:
        for attempt in range(DB_ATTEMPTS):
            try:
                async with write.begin_nested():
                    return await self._record(UploadRepository(write), accepted)
            except IntegrityError:
                if attempt == DB_ATTEMPTS - 1:
                    raise
                log.info("upload_race_retry", filename=accepted.spooled.filename, attempt=attempt + 1)
        raise AssertionError("unreachable")

    async def _record(self, repo: UploadRepository, accepted: _Accepted) -> bool:
        """Step 4: one transaction; returns False for an identical re-upload (UPL-9)."""
        if await _check_filename_free(repo, accepted.spooled):
            return False
        await _check_content_is_new(repo, accepted.spooled)
        project = await self._get_or_create_project(repo, accepted)
        self._check_quota(project, accepted.spooled.size)
        release = await _get_or_create_release(repo, project, accepted)
        if accepted.parsed.packagetype == "sdist":
            await _check_single_sdist(repo, release)
        await _add_file(repo, project, release, accepted)
        return True

    async def _get_or_create_project(self, repo: UploadRepository, accepted: _Accepted) -> Project:
        name = accepted.parsed.normalized_name
        display_name = accepted.dist.metadata.name
        project = await repo.get_project(name)
        if project is not None:
            _check_project_open(project)
            await require_role(
                repo.session, accepted.identity, project_id=project.id, project_name=name, roles=(OWNER, MAINTAINER)
            )
            project.display_name = display_name  # NAM-4: the latest accepted Name
            return project
        accepted.identity.check_token_scope(name)
        project = Project(name=name, display_name=display_name, status="active", last_serial=0, total_size=0)
        await repo.add(project)
        await repo.add(Role(user_id=accepted.identity.user_id, project_id=project.id, role_name=OWNER))  # UPL-13
        await record_event(
            repo.session, JournalAction.PROJECT_CREATED, project_name=name, project_id=project.id,
            actor=accepted.identity.username,
        )
        await record_audit(repo.session, "project:created", actor_id=accepted.identity.user_id,
                           actor=accepted.identity.username, project_name=name)
        return project

    def _check_quota(self, project: Project, size: int) -> None:
        limit = self.settings.max_project_size
        if project.total_size + size > limit:
            raise FileTooLargeError(
                f"Project size too large: {project.name!r} would exceed its limit of "
                f"{limit // (1024 ** 3)} GiB. Delete old files or ask the administrators to raise the limit."
            )


def _require_file(form: UploadedForm) -> SpooledFile:
    if form.file is None or not form.file.filename:
        raise InvalidFormError("Missing file: the upload needs a 'content' file part with a filename.")
    return form.file


def check_digests(upload: UploadForm, spooled: SpooledFile) -> None:
    """UPL-5: every digest the client sent must match what we computed (constant-time)."""
    sent = {
        "sha256_digest": (upload.sha256_digest, spooled.sha256),
        "blake2_256_digest": (upload.blake2_256_digest, spooled.blake2b_256),
        "md5_digest": (upload.md5_digest, spooled.md5),
    }
    for field_name, (claimed, actual) in sent.items():
        if claimed is not None and not hmac.compare_digest(claimed, actual):
            raise DigestMismatchError(
                f"The {field_name} does not match the file's content: the file may have been corrupted "
                "in transit; build it again and retry the upload."
            )


async def _check_filename_free(repo: UploadRepository, spooled: SpooledFile) -> bool:
    """True when this exact file is already published (UPL-9); raise when the name is taken (UPL-10, POL-1)."""
    existing = await repo.get_file_by_filename(spooled.filename)
    if existing is not None:
        if hmac.compare_digest(existing.sha256, spooled.sha256) and existing.blake2b_256 == spooled.blake2b_256:
            return True
        raise FileAlreadyExistsError(
            f"File already exists ({spooled.filename!r}) with different content. "
            "A published file can never be replaced: bump the version (or add a build tag) and upload again."
        )
    if await repo.filename_was_used(spooled.filename):
        raise FilenamePreviouslyUsedError(
            f"This filename has already been used, use a different version ({spooled.filename!r} was uploaded "
            "before and deleted; a filename previously used can never be used again)."
        )
    return False


async def _check_content_is_new(repo: UploadRepository, spooled: SpooledFile) -> None:
    """POL-2: the same bytes under another filename are refused."""
    other = await repo.get_file_by_blake2b(spooled.blake2b_256)
    if other is not None:
        raise DuplicateContentError(
            f"The same file content was already uploaded as {other.filename!r}; "
            "each file must have unique content."
        )


async def _check_single_sdist(repo: UploadRepository, release: Release) -> None:
    if await repo.release_has_sdist(release.id):
        raise DuplicateSdistError(
            f"Only one sdist may be uploaded per release; {release.version} already has one (SD-6). "
            "Upload wheels for other platforms instead, or publish a new version."
        )


def _check_project_open(project: Project) -> None:
    if project.status in CLOSED_STATUSES:
        raise ProjectNotAcceptingUploadsError(
            f"Project {project.name!r} is {project.status} and does not accept new uploads (STS-1)."
        )


async def _get_or_create_release(repo: UploadRepository, project: Project, accepted: _Accepted) -> Release:
    meta = accepted.dist.metadata
    canonical = version_key(meta.version)
    release = await repo.get_release(project.id, canonical)
    if release is not None:
        return release
    version = accepted.parsed.version
    release = Release(
        project_id=project.id,
        version=meta.version,
        canonical_version=canonical,
        is_prerelease=version.is_prerelease,
        yanked=False,
        requires_python=meta.requires_python,
        summary=meta.summary,
        core_metadata=meta.to_json(),
    )
    await repo.add(release)
    await record_event(
        repo.session, JournalAction.RELEASE_CREATED, project_name=project.name, project_id=project.id,
        version=release.version, actor=accepted.identity.username,
    )
    return release


async def _add_file(repo: UploadRepository, project: Project, release: Release, accepted: _Accepted) -> None:
    spooled, dist = accepted.spooled, accepted.dist
    metadata_sha256 = hashlib.sha256(dist.metadata_bytes).hexdigest() if dist.metadata_bytes is not None else None
    await repo.add(FilenameRegistry(filename=spooled.filename, project_name=project.name))
    await repo.add(
        File(
            project_id=project.id,
            release_id=release.id,
            filename=spooled.filename,
            packagetype=accepted.parsed.packagetype,
            python_version=accepted.parsed.python_tag,
            size=spooled.size,
            sha256=spooled.sha256,
            blake2b_256=spooled.blake2b_256,
            md5=spooled.md5,
            path=accepted.key,
            requires_python=dist.metadata.requires_python,
            metadata_sha256=metadata_sha256,
            uploaded_by_id=accepted.identity.user_id,
        )
    )
    await repo.add_to_project_size(project.id, spooled.size)
    await record_event(
        repo.session, JournalAction.FILE_ADDED, project_name=project.name, project_id=project.id,
        version=release.version, filename=spooled.filename, actor=accepted.identity.username,
        payload={"sha256": spooled.sha256, "size": spooled.size, "path": accepted.key},
    )
    await record_audit(repo.session, "file:uploaded", actor_id=accepted.identity.user_id,
                       actor=accepted.identity.username, project_name=project.name,
                       details={"filename": spooled.filename, "version": release.version,
                                "sha256": spooled.sha256, "token_id": accepted.identity.token_id})
