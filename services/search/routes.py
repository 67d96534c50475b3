"""HTTP only: ``GET /api/search`` (JSON) and ``GET /search`` (a plain HTML page for people)."""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from pydantic import BaseModel
from starlette.responses import HTMLResponse

from services.search.deps import ClientIp, Limiter, Searches
from services.search.service import Sort
from shared.ratelimit import RateLimit, enforce
from shared.web.cache import SEARCH_KEY

router = APIRouter(tags=["search"])

SEARCH_PER_IP = RateLimit("search-ip", 120, timedelta(minutes=1))
CACHE = {"Cache-Control": "max-age=60, public", "Surrogate-Control": "max-age=300", "Surrogate-Key": SEARCH_KEY}

Q = Annotated[str, Query(max_length=4096, description="Words to look for; at most 400 characters are searched.")]
Classifiers = Annotated[list[str], Query(alias="classifier", description="Trove classifier, or a parent of one.")]
Page = Annotated[int, Query(ge=1, le=10_000)]
PerPage = Annotated[int, Query(ge=1, le=100)]


class SearchResult(BaseModel):
    name: str
    version: str
    summary: str
    updated: datetime
    score: float


class SearchAnswer(BaseModel):
    query: str
    total: int
    page: int
    per_page: int
    results: list[SearchResult]


@router.get("/api/search", response_model=SearchAnswer)
async def search_projects(searches: Searches, limiter: Limiter, ip: ClientIp, q: Q = "",
                          classifier: Classifiers = [], page: Page = 1, per_page: PerPage = 20,  # noqa: B006
                          sort: Sort = "relevance") -> SearchAnswer:
    """Projects by name (an exact name first), then summary, keywords and description."""
    await enforce(limiter, SEARCH_PER_IP, ip, message="Too many searches from this address.")
    found = await searches.search(query=q, classifiers=classifier, page=page, per_page=per_page, sort=sort)
    answer = SearchAnswer(query=found.query, total=found.total, page=found.page, per_page=found.per_page,
                          results=[SearchResult(name=h.display_name, version=h.version, summary=h.summary,
                                                updated=h.updated, score=h.score) for h in found.hits])
    return answer


@router.get("/search", response_class=HTMLResponse)
async def search_page(searches: Searches, limiter: Limiter, ip: ClientIp, q: Q = "",
                      classifier: Classifiers = [], page: Page = 1) -> HTMLResponse:  # noqa: B006
    await enforce(limiter, SEARCH_PER_IP, ip, message="Too many searches from this address.")
    found = await searches.search(query=q, classifiers=classifier, page=page, per_page=20, sort="relevance")
    items = "".join(
        f'<li><a href="/simple/{html.escape(h.name)}/">{html.escape(h.display_name)}</a> '
        f"{html.escape(h.version)} <span>{html.escape(h.summary)}</span></li>" for h in found.hits
    )
    more = ""
    if found.page * found.per_page < found.total:
        more = f'<a href="/search?{html.escape(urlencode({"q": q, "page": page + 1}))}">more</a>'
    body = (
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Search</title></head><body>"
        f'<form action="/search"><input name="q" value="{html.escape(q)}"><button>Search</button></form>'
        f"<p>{found.total} projects</p><ol>{items}</ol>{more}</body></html>"
    )
    return HTMLResponse(body, headers=CACHE)
