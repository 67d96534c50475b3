"""Use cases of the read side: index pages, the JSON API and file downloads.

Pages are identified by (project, last serial, media type): that triple is the
ETag, the render-cache key, and what the edge's purges follow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from services.simple.cache import RenderCache
from services.simple.http import make_etag
from services.simple.json_api import project_json
from services.simple.negotiation import JSON_V1
from services.simple.pages import FileEntry, IndexPage, ProjectPage
from services.simple.render import (
    render_index_html,
    render_index_json,
    render_project_html,
    render_project_json,
)
from services.simple.repository import ProjectHead, SimpleRepository, StoredFile
from shared.db import ReadSession
from shared.errors import NotFoundError
from shared.names import sort_versions

FILES_PREFIX = "/packages/"
METADATA_SUFFIX = ".metadata"


@dataclass(frozen=True, slots=True)
class RenderedPage:
    etag: str
    last_serial: int
    body: bytes | None  # None when the client already has this version (304)


@dataclass(frozen=True, slots=True)
class Blob:
    key: str
    size: int | None  # None: ask storage (the .metadata file)
    etag: str
    project_name: str


def _file_entries(rows: list[tuple[Any, ...]]) -> list[FileEntry]:
    """Rows of ``SimpleRepository.page_files`` as entries in filename order (unpacked
    positionally: this runs once per file of a page that may list 10,000 files)."""
    entries = [
        FileEntry(filename, FILES_PREFIX + path, sha256, size, upload_time, requires_python, bool(yanked),
                  yanked_reason, metadata_sha256, version)
        for (filename, path, sha256, size, upload_time, requires_python, yanked, yanked_reason, metadata_sha256,
             version) in rows
    ]
    entries.sort(key=attrgetter("filename"))
    return entries


class SimpleService:
    def __init__(self, *, cache: RenderCache | None = None) -> None:
        self.cache = cache or RenderCache()

    async def index_page(self, read: ReadSession, *, media_type: str, if_none_match: Any) -> RenderedPage:
        """API-1, HTML-2, JSON-2: every listed project."""
        repo = SimpleRepository(read)
        serial = await repo.global_serial()
        etag = make_etag("index", serial, media_type)
        if if_none_match(etag):
            return RenderedPage(etag=etag, last_serial=serial, body=None)
        key = ("index", serial, media_type)
        body = self.cache.get(key)
        if body is None:
            page = IndexPage(projects=await repo.list_projects(), last_serial=serial)
            body = render_index_json(page) if media_type == JSON_V1 else render_index_html(page)
            self.cache.put(key, body)
        return RenderedPage(etag=etag, last_serial=serial, body=body)

    async def project_page(
        self, read: ReadSession, *, name: str, media_type: str, if_none_match: Any
    ) -> RenderedPage:
        """API-1, HTML-3..10, JSON-3..11: one project's files."""
        repo = SimpleRepository(read)
        head = await _require_project(repo, name)
        etag = make_etag("project", head.name, head.last_serial, media_type)
        if if_none_match(etag):
            return RenderedPage(etag=etag, last_serial=head.last_serial, body=None)
        key = ("project", head.name, head.last_serial, media_type)
        body = self.cache.get(key)
        if body is None:
            page = await _build_project_page(repo, head)
            body = render_project_json(page) if media_type == JSON_V1 else render_project_html(page)
            self.cache.put(key, body)
        return RenderedPage(etag=etag, last_serial=head.last_serial, body=body)

    async def project_json(
        self, read: ReadSession, *, name: str, version: str | None, base_url: str, if_none_match: Any
    ) -> RenderedPage:
        """MIR-6: ``/pypi/<name>/json`` and ``/pypi/<name>/<version>/json``."""
        repo = SimpleRepository(read)
        head = await _require_project(repo, name)
        etag = make_etag("json", head.name, head.last_serial, version or "", base_url)
        if if_none_match(etag):
            return RenderedPage(etag=etag, last_serial=head.last_serial, body=None)
        rows = [] if head.status == "quarantined" else await repo.project_files(head.id)
        doc = project_json(
            name=head.name, display_name=head.display_name, releases=await repo.project_releases(head.id),
            file_rows=rows, last_serial=head.last_serial, base_url=base_url, version=version,
        )
        if doc is None:
            raise NotFoundError(f"Project {head.name!r} has no release {version!r}." if version
                                else f"Project {head.name!r} has no releases.")
        return RenderedPage(etag=etag, last_serial=head.last_serial, body=json.dumps(doc).encode())

    async def find_blob(self, read: ReadSession, *, path: str) -> Blob:
        """A file or its ``.metadata`` (MDF-1, MDF-4); 404 for unknown, deleted or quarantined files."""
        repo = SimpleRepository(read)
        stored = await repo.get_stored_file(path)
        if stored is not None:
            return Blob(key=stored.path, size=stored.size, etag=f'"{stored.sha256}"', project_name=stored.project_name) \
                if _visible(stored) else _missing(path)
        if path.endswith(METADATA_SUFFIX):
            stored = await repo.get_stored_file(path[: -len(METADATA_SUFFIX)])
            if stored is not None and stored.metadata_sha256 and _visible(stored):
                return Blob(key=path, size=None, etag=f'"{stored.metadata_sha256}"', project_name=stored.project_name)
        return _missing(path)


def _visible(stored: StoredFile) -> bool:
    return stored.project_status != "quarantined"  # STS-2


def _missing(path: str) -> Blob:
    raise NotFoundError(f"No file at /packages/{path}.")


async def _require_project(repo: SimpleRepository, name: str) -> ProjectHead:
    head = await repo.get_project_head(name)
    if head is None:
        raise NotFoundError(f"No project named {name!r}.")  # API-4
    return head


async def _build_project_page(repo: SimpleRepository, head: ProjectHead) -> ProjectPage:
    rows = [] if head.status == "quarantined" else await repo.page_files(head.id)
    return ProjectPage(
        name=head.name,
        files=_file_entries(rows),
        versions=sort_versions(await repo.project_versions(head.id)),
        last_serial=head.last_serial,
        status=head.status,
        status_reason=head.status_reason,
    )
