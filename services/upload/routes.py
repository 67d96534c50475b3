"""HTTP only: twine's legacy upload (STANDARDS §11) and the maintainer JSON API."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Body, Response
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse

from services.upload.deps import CurrentIdentity, Manage, ReadDb, Settings, Uploads, WriteDb
from services.upload.errors import FileTooLargeError, InvalidFormError
from services.upload.multipart import MAX_FIELDS_BYTES, read_upload_form
from services.upload.schemas import ProjectStatusPublic, ProjectStatusUpdate, ReleasePublic, YankRequest
from shared.names import normalize_name
from shared.schema import Release
from shared.web.cache import NO_STORE
from shared.web.routing import AutoCommitRoute

router = APIRouter(route_class=AutoCommitRoute)


def _check_content_length(request: Request, *, max_file_size: int) -> None:
    """UPL-12: refuse an oversized body before reading it."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_file_size + MAX_FIELDS_BYTES:
        raise FileTooLargeError(
            f"File too large. Limit for this project is {max_file_size // (1024 * 1024)} MiB; "
            "ask the index administrators to raise it."
        )


@router.post("/legacy/", response_class=PlainTextResponse, summary="Upload a file (twine's legacy API)")
@router.post("/legacy", include_in_schema=False)  # UPL-1: never redirect an upload
async def upload_file(
    request: Request, identity: CurrentIdentity, read: ReadDb, write: WriteDb, uploads: Uploads, settings: Settings
) -> PlainTextResponse:
    _check_content_length(request, max_file_size=settings.max_file_size)
    try:
        form = await read_upload_form(
            request.stream(), content_type=request.headers.get("content-type"),
            max_file_size=settings.max_file_size, tmp_dir=settings.upload_tmp_dir,
        )
    except ClientDisconnect:
        raise InvalidFormError("The upload was interrupted before the whole file arrived; upload it again.") from None
    for key, values in request.query_params.multi_items():  # `:action` may come in the query string
        if key == ":action" and key not in form.fields:
            form.fields[key] = [values]
    try:
        result = await uploads.upload_file(read=read, write=write, identity=identity, form=form)
    finally:
        if form.file is not None:
            await asyncio.to_thread(form.file.path.unlink, missing_ok=True)
    return PlainTextResponse("\n".join(result.warnings) + "\n" if result.warnings else "OK\n", headers=NO_STORE)


def _release_public(project: str, release: Release) -> ReleasePublic:
    return ReleasePublic(project=normalize_name(project), version=release.version, yanked=release.yanked,
                         yanked_reason=release.yanked_reason)


@router.post("/api/projects/{project}/releases/{version}/yank", response_model=ReleasePublic)
async def yank_release(
    project: str, version: str, identity: CurrentIdentity, write: WriteDb, manage: Manage,
    body: YankRequest = Body(default_factory=YankRequest),
) -> ReleasePublic:
    release = await manage.yank_release(write, identity, project=project, version=version, reason=body.reason)
    return _release_public(project, release)


@router.post("/api/projects/{project}/releases/{version}/unyank", response_model=ReleasePublic)
async def unyank_release(
    project: str, version: str, identity: CurrentIdentity, write: WriteDb, manage: Manage
) -> ReleasePublic:
    release = await manage.unyank_release(write, identity, project=project, version=version)
    return _release_public(project, release)


@router.delete("/api/projects/{project}/releases/{version}/files/{filename}", status_code=204)
async def delete_file(
    project: str, version: str, filename: str, identity: CurrentIdentity, write: WriteDb, manage: Manage
) -> Response:
    await manage.delete_file(write, identity, project=project, version=version, filename=filename)
    return Response(status_code=204)


@router.delete("/api/projects/{project}/releases/{version}", status_code=204)
async def delete_release(project: str, version: str, identity: CurrentIdentity, write: WriteDb, manage: Manage) -> Response:
    await manage.delete_release(write, identity, project=project, version=version)
    return Response(status_code=204)


@router.post("/api/projects/{project}/status", response_model=ProjectStatusPublic)
async def set_project_status(
    project: str, body: ProjectStatusUpdate, identity: CurrentIdentity, write: WriteDb, manage: Manage
) -> ProjectStatusPublic:
    proj = await manage.set_status(write, identity, project=project, status=body.status, reason=body.reason)
    return ProjectStatusPublic(project=proj.name, status=proj.status, reason=proj.status_reason)


@router.delete("/api/projects/{project}", status_code=204)
async def delete_project(project: str, identity: CurrentIdentity, write: WriteDb, manage: Manage) -> Response:
    await manage.delete_project(write, identity, project=project)
    return Response(status_code=204)
