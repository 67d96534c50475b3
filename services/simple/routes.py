"""HTTP only: ``/simple/`` (PEP 503/691), ``/pypi/<name>/json`` and ``/packages/`` files."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from services.simple.changelog import MAX_PAGE, event_json
from services.simple.deps import Changelog, ReadDb, Settings, Simple, Storage
from services.simple.http import content_range, etag_matches, parse_range, unsatisfied_content_range
from services.simple.negotiation import JSON_V1, TEXT_HTML, choose_media_type
from services.simple.service import RenderedPage
from shared.names import normalize_name
from services.simple.xmlrpc import FAULT_REQUEST, MAX_REQUEST_BYTES, XmlRpcFault, dump_fault, parse_call
from shared.web.cache import (
    CHANGELOG_ARCHIVE_KEY,
    CHANGELOG_KEY,
    INDEX_KEY,
    NO_STORE,
    immutable_headers,
    page_headers,
    project_files_key,
    project_key,
)

router = APIRouter()

FILE_CONTENT_TYPE = "application/octet-stream"


def _redirect(request: Request, path: str) -> RedirectResponse:
    """API-2, API-3: permanent redirect, keeping the query string."""
    query = request.url.query
    return RedirectResponse(path + (f"?{query}" if query else ""), status_code=301)


def _content_type(media_type: str) -> str:
    return f"{TEXT_HTML}; charset=utf-8" if media_type == TEXT_HTML else media_type


def _page_response(
    request: Request, page: RenderedPage, *, settings: Settings, keys: list[str], media_type: str | None
) -> Response:
    headers = {
        "ETag": page.etag,
        "X-PyPI-Last-Serial": str(page.last_serial),  # MIR-1
        **page_headers(
            max_age=settings.page_max_age, surrogate_max_age=settings.page_surrogate_max_age, keys=keys,
            stale_if_error=settings.stale_if_error, stale_while_revalidate=settings.stale_while_revalidate,
        ),
    }
    if media_type is not None:
        headers["Vary"] = "Accept"  # API-10
    if page.body is None:
        return Response(status_code=304, headers=headers)
    content_type = _content_type(media_type) if media_type else "application/json"
    return Response(page.body, headers=headers, media_type=content_type)


def _negotiate(request: Request, format_param: str | None) -> str:
    if format_param is not None:  # an unescaped "+" in a typed URL arrives as a space
        format_param = format_param.replace(" ", "+")
    return choose_media_type(request.headers.get("accept"), format_param=format_param)


def _if_none_match(request: Request):  # noqa: ANN202
    header = request.headers.get("if-none-match")
    return lambda etag: etag_matches(header, etag)


@router.api_route("/simple", methods=["GET", "HEAD"], include_in_schema=False)
async def redirect_index(request: Request) -> Response:
    return _redirect(request, "/simple/")


@router.api_route("/simple/", methods=["GET", "HEAD"], summary="The project list (PEP 503/691)")
async def get_index(
    request: Request, read: ReadDb, simple: Simple, settings: Settings, format: str | None = Query(None)
) -> Response:
    media_type = _negotiate(request, format)
    page = await simple.index_page(read, media_type=media_type, if_none_match=_if_none_match(request))
    return _page_response(request, page, settings=settings, keys=[INDEX_KEY], media_type=media_type)


@router.api_route("/simple/{name}", methods=["GET", "HEAD"], include_in_schema=False)
async def redirect_project(request: Request, name: str) -> Response:
    return _redirect(request, f"/simple/{normalize_name(name)}/")


@router.api_route("/simple/{name}/", methods=["GET", "HEAD"], summary="One project's files (PEP 503/691)")
async def get_project_page(
    request: Request, name: str, read: ReadDb, simple: Simple, settings: Settings,
    format: str | None = Query(None),
) -> Response:
    normalized = normalize_name(name)
    if normalized != name:
        return _redirect(request, f"/simple/{normalized}/")
    media_type = _negotiate(request, format)
    page = await simple.project_page(read, name=name, media_type=media_type, if_none_match=_if_none_match(request))
    return _page_response(request, page, settings=settings, keys=[project_key(name)], media_type=media_type)


def _base_url(request: Request, settings: Settings) -> str:
    return (settings.public_url or str(request.base_url)).rstrip("/")


@router.api_route("/pypi/{name}/json", methods=["GET", "HEAD"], summary="Project metadata (PyPI JSON API)")
async def get_project_json(request: Request, name: str, read: ReadDb, simple: Simple, settings: Settings) -> Response:
    normalized = normalize_name(name)
    if normalized != name:
        return _redirect(request, f"/pypi/{normalized}/json")
    page = await simple.project_json(read, name=name, version=None, base_url=_base_url(request, settings),
                                     if_none_match=_if_none_match(request))
    return _page_response(request, page, settings=settings, keys=[project_key(name)], media_type=None)


@router.api_route("/pypi/{name}/{version}/json", methods=["GET", "HEAD"], summary="Release metadata (PyPI JSON API)")
async def get_release_json(
    request: Request, name: str, version: str, read: ReadDb, simple: Simple, settings: Settings
) -> Response:
    normalized = normalize_name(name)
    if normalized != name:
        return _redirect(request, f"/pypi/{normalized}/{version}/json")
    page = await simple.project_json(read, name=name, version=version, base_url=_base_url(request, settings),
                                     if_none_match=_if_none_match(request))
    return _page_response(request, page, settings=settings, keys=[project_key(name)], media_type=None)


@router.api_route("/packages/{path:path}", methods=["GET", "HEAD"], summary="A file or its .metadata")
async def get_file(request: Request, path: str, read: ReadDb, simple: Simple, storage: Storage) -> Response:
    """API-8, API-9, MDF-1, MDF-4: byte-for-byte, with HEAD, Range and immutable caching."""
    blob = await simple.find_blob(read, path=path)
    await read.rollback()  # do not hold a read transaction while streaming
    size = blob.size
    if size is None:
        info = await storage.stat(blob.key)
        size = info.size if info else 0
    headers = {
        "ETag": blob.etag, "Accept-Ranges": "bytes",
        **immutable_headers(keys=[project_files_key(blob.project_name), f"file/{path.rsplit('/', 1)[-1]}"]),
    }
    if etag_matches(request.headers.get("if-none-match"), blob.etag):
        return Response(status_code=304, headers=headers)
    wanted = parse_range(request.headers.get("range"), size=size)
    if wanted == "unsatisfiable":
        return Response(status_code=416, headers={**headers, "Content-Range": unsatisfied_content_range(size)})
    start, end, status = (0, size - 1, 200) if wanted is None else (*wanted, 206)
    headers["Content-Length"] = str(max(end - start + 1, 0))
    if status == 206:
        headers["Content-Range"] = content_range(start, end, size)
    if request.method == "HEAD" or size == 0:
        return Response(status_code=status, headers=headers, media_type=FILE_CONTENT_TYPE)
    body = storage.iter_range(blob.key, start=start, end=end)
    return StreamingResponse(body, status_code=status, headers=headers, media_type=FILE_CONTENT_TYPE)


# --- the changelog for mirrors ---------------------------------------------------------------

Serial = Annotated[int, Query(ge=0, le=2**63 - 1)]


@router.get("/api/changelog")
async def get_changelog(read: ReadDb, changelog: Changelog, settings: Settings, since: Serial = 0,
                        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100) -> Response:
    """The journal after ``since``, oldest first: follow it with ``since`` = the last serial seen."""
    page = await changelog.page(read, since=since, limit=limit)
    newest = page.events[-1].serial if page.events else since
    body = {"events": [event_json(row) for row in page.events], "last_serial": page.last_serial,
            "next": f"/api/changelog?since={newest}&limit={limit}"}
    if page.complete:  # a full page after a given serial never changes
        headers = immutable_headers(keys=[CHANGELOG_ARCHIVE_KEY])
    else:
        headers = page_headers(max_age=5, surrogate_max_age=settings.page_surrogate_max_age, keys=[CHANGELOG_KEY],
                               stale_if_error=settings.stale_if_error, stale_while_revalidate=0)
    return JSONResponse(body, headers=headers)


@router.get("/api/changelog/stream")
async def stream_changelog(request: Request, read: ReadDb, changelog: Changelog,
                           since: Serial | None = None) -> StreamingResponse:
    """The journal as Server-Sent Events, live. Starts after ``since``, else after the
    ``Last-Event-ID`` a reconnecting client sends, else at the newest event."""
    start = since if since is not None else _last_event_id(request)
    if start is None:
        start = await changelog.changelog_last_serial(read)
    await read.rollback()  # no snapshot held for the life of the stream
    events = changelog.follow(since=start, disconnected=request.is_disconnected)
    return StreamingResponse(events, media_type="text/event-stream",
                             headers={**NO_STORE, "X-Accel-Buffering": "no"})


def _last_event_id(request: Request) -> int | None:
    value = request.headers.get("last-event-id", "")
    return int(value) if value.isdigit() and len(value) < 19 else None


@router.post("/pypi")
async def xmlrpc_call(request: Request, read: ReadDb, changelog: Changelog) -> Response:
    """XML-RPC for mirror tools: changelog_last_serial, changelog_since_serial, list_packages_with_serial."""
    try:
        body = await changelog.answer(read, parse_call(await _capped_body(request)))
    except XmlRpcFault as fault:
        body = dump_fault(fault)
    return Response(body, media_type="text/xml", headers=NO_STORE)


async def _capped_body(request: Request) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_REQUEST_BYTES:
            raise XmlRpcFault(FAULT_REQUEST, f"The request is larger than {MAX_REQUEST_BYTES} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)
