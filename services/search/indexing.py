"""Keeping the search index in step with the journal.

The indexer is a consumer of the bus (``search-indexer``): for each event it
rebuilds the document of the event's project from the database — idempotent, so
a redelivered event is harmless — or removes it.  A project's document describes
its latest non-yanked, non-pre-release release (a pre-release when there is
nothing else); a project whose releases are all yanked, a quarantined project
and a deleted one drop out.  ``reindex`` rebuilds everything from the database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from services.search.repository import SearchRepository
from shared.db import Database
from shared.events import Event
from shared.names import version_key
from shared.schema import Release
from shared.search import SearchDocument, SearchIndex

CONSUMER_NAME = "search-indexer"
DESCRIPTION_LIMIT = 64 * 1024
# Events that cannot change what a project's document says.
IGNORED_ACTIONS = frozenset({"role_invited", "role_added", "role_changed", "role_removed", "publisher_added",
                             "publisher_removed"})


def _chosen(releases: list[Release]) -> Release | None:
    candidates = [r for r in releases if not r.yanked]
    final = [r for r in candidates if not r.is_prerelease] or candidates
    return max(final, key=lambda r: version_key(r.version)) if final else None


async def build_document(repo: SearchRepository, name: str) -> SearchDocument | None:
    """The document for project ``name`` now, or None when it should not be searchable."""
    project = await repo.project(name)
    if project is None or project.status == "quarantined":
        return None
    release = _chosen(await repo.releases(project.id))
    if release is None:
        return None
    meta = release.core_metadata or {}
    return SearchDocument(
        name=project.name, display_name=project.display_name, version=release.version,
        summary=release.summary or "", keywords=" ".join(meta.get("keywords") or []),
        description=(meta.get("description") or "")[:DESCRIPTION_LIMIT],
        classifiers=tuple(meta.get("classifiers") or ()), updated=release.created,
    )


class Indexer:
    def __init__(self, db: Database, index: SearchIndex) -> None:
        self.db = db
        self.index = index

    async def handle(self, event: Event) -> None:
        if event.action in IGNORED_ACTIONS:
            return
        await self.refresh(event.project)

    async def refresh(self, name: str) -> None:
        async with self.db.read_session() as session:
            document = await build_document(SearchRepository(session), name)
        if document is None:
            await self.index.delete(name)
        else:
            await self.index.upsert(document)

    async def reindex(self) -> int:
        """Replace the whole index with documents built from the database.

        A project that changes while the rebuild reads may go into the new index as it
        was (and, on OpenSearch, the indexer's update may go to the old index and vanish
        at the swap), so every project the journal shows changing since the start is
        built again once the new index is in place.
        """
        async with self.db.read_session() as session:
            start = await SearchRepository(session).newest_serial()
        count = await self.index.rebuild(self._documents())
        async with self.db.read_session() as session:
            changed = await SearchRepository(session).changed_since(start)
        for name in changed:
            await self.refresh(name)
        return count

    async def _documents(self) -> AsyncIterator[SearchDocument]:
        async with self.db.read_session() as session:
            repo = SearchRepository(session)
            async for name in repo.project_names():
                document = await build_document(repo, name)
                if document is not None:
                    yield document
