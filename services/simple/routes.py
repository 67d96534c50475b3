"""HTTP only: ``/simple/`` (PEP 503/691), ``/pypi/<name>/json`` and ``/packages/`` files."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from services.simple.deps import ReadDb, Settings, Simple, Storage
from services.simple.http import content_range, etag_matches, parse_range, unsatisfied_content_range
from services.simple.negotiation import JSON_V1, TEXT_HTML, choose_media_type
from services.simple.service import RenderedPage
from shared.names import normalize_name
from shared.web.cache import INDEX_KEY, immutable_headers, page_headers, project_key

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
        **immutable_headers(keys=[f"project-files/{blob.project_name}", f"file/{path.rsplit('/', 1)[-1]}"]),
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
