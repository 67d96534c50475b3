"""Searching: validate the request, ask the index, page the answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from services.search.errors import PageOutOfRangeError, QueryTooLongError
from shared.search import SearchHit, SearchIndex

MAX_QUERY = 400
MAX_CLASSIFIERS = 20
MAX_RESULTS = 10_000  # pages reach this far into the results, no further

Sort = Literal["relevance", "-updated"]


@dataclass(frozen=True)
class SearchPage:
    query: str
    hits: list[SearchHit]
    total: int
    page: int
    per_page: int


class SearchService:
    def __init__(self, index: SearchIndex) -> None:
        self.index = index

    async def search(
        self, *, query: str, classifiers: Sequence[str], page: int, per_page: int, sort: Sort
    ) -> SearchPage:
        query = " ".join(query.split())
        if len(query) > MAX_QUERY:
            raise QueryTooLongError(f"The query is {len(query)} characters long; at most {MAX_QUERY} are searched.")
        if len(classifiers) > MAX_CLASSIFIERS:
            raise QueryTooLongError(f"At most {MAX_CLASSIFIERS} classifier filters can be combined.")
        if page * per_page > MAX_RESULTS:
            raise PageOutOfRangeError(f"Results are paged up to the first {MAX_RESULTS}; narrow the query.")
        results = await self.index.search(query, classifiers=classifiers, offset=(page - 1) * per_page,
                                          limit=per_page, sort=sort)
        return SearchPage(query=query, hits=results.hits, total=results.total, page=page, per_page=per_page)
