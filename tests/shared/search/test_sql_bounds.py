"""The SQL backends' bounded work (``shared/search/sql/``): capped totals, and pages that are
the same whichever shortcut produced them.  On SQLite and Postgres through ``backend``.

The shortcuts only start at sizes a test cannot afford (10,000 matches), so their limits are
monkeypatched small here: what is proven is that a page found with them equals the page found
without them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest

from shared.search.sql import common, postgres, sqlite
from shared.config import ServeSettings
from shared.db import Database
from shared.search import SearchIndex, open_search_index
from shared.search.base import TOTAL_CAP
from tests.conftest import Backend
from tests.shared.search.test_index import BASE_TIME, CORPUS, doc, documents

WORDS = "alpha bravo charlie delta echo".split()
# CORPUS, and 40 more projects sharing a few words, so that broad queries match many.
EXTRA = [
    doc(f"{WORDS[i % 5]}-pkg-{i}", summary=f"{WORDS[i % 5]} {WORDS[(i + 1) % 5]} tools",
        description="web framework" if i % 3 else "teapot", keywords="pkg",
        classifiers=["Framework :: Django"] if i % 2 else [], age_days=i % 7)
    for i in range(40)
]
# A name holding every query word beats a summary holding them: the text tier's first part.
EXTRA += [
    doc("kilo-lima-with-a-rather-long-tail-name", description="nothing else"),
    doc("zulu", summary="kilo lima kilo lima", keywords="kilo lima"),
]
# A near-miss name of "pkg", not a text match, newer than all but six text matches of "pkg".
EXTRA += [replace(doc("pkq", summary="near miss"), updated=BASE_TIME - timedelta(hours=12))]
QUERIES = ["web", "pkg", "alpha", "alpha-pkg", "alpha pkg tools", "alpah", "teapot", "requests", "djan", "flask",
           "tools web", "kilo lima", "xylophone"]
PAGES = [(0, 100), (0, 3), (2, 5), (7, 1)]


@pytest.fixture
async def index(app: object, db: Database, backend: Backend, settings: ServeSettings) -> AsyncIterator[SearchIndex]:
    search_index = open_search_index(settings, db=db)
    await search_index.rebuild(documents([*CORPUS, *EXTRA]))
    yield search_index
    await search_index.aclose()


async def everything(index: SearchIndex) -> dict[tuple, tuple[list[tuple], int]]:
    found = {}
    for query in QUERIES:
        for classifiers in ([], ["Framework :: Django"]):
            for sort in ("relevance", "-updated"):
                for offset, limit in PAGES:
                    results = await index.search(query, classifiers=classifiers, offset=offset, limit=limit, sort=sort)
                    hits = [(h.name, h.score if sort == "relevance" else h.updated) for h in results.hits]
                    found[(query, tuple(classifiers), sort, offset, limit)] = (hits, results.total)
    return found


def set_limit(monkeypatch: pytest.MonkeyPatch, name: str, value: int) -> None:
    """A limit in every module of the package that holds it (each imports it by name)."""
    for module in (common, postgres, sqlite):
        if hasattr(module, name):
            monkeypatch.setattr(module, name, value)


class TestCappedTotal:
    async def test_total_stops_at_the_cap(self, index: SearchIndex, monkeypatch: pytest.MonkeyPatch) -> None:
        full = await index.search("web", limit=100)
        assert full.total > 5
        set_limit(monkeypatch, "TOTAL_CAP", 5)
        capped = await index.search("web", limit=100)
        assert capped.total == 5  # "5 or more"
        assert [h.name for h in capped.hits] == [h.name for h in full.hits]  # the hits are not capped
        assert (await index.search("web", limit=0)).total == 5
        assert (await index.search("", classifiers=["Framework :: Django"])).total == 5
        assert (await index.search("web", sort="-updated")).total == 5

    async def test_totals_under_the_cap_are_exact(self, index: SearchIndex, monkeypatch: pytest.MonkeyPatch) -> None:
        set_limit(monkeypatch, "TOTAL_CAP", 5)
        assert (await index.search("kettle")).total == 3
        assert (await index.search("requests")).total == 4
        assert (await index.search("flaks")).total == 1  # a near-miss name, not a text match

    def test_the_cap_is_as_deep_as_the_api_pages(self) -> None:
        from services.search.service import MAX_RESULTS

        assert TOTAL_CAP == MAX_RESULTS == 10_000


class TestShortcutsGiveTheSamePages:
    """Every shortcut taken (cap 2: the name tiers cut to the page, lower tiers skipped once the page
    is full, the date sort's walk and batches, counting by reading rows) against the same searches
    without them."""

    @pytest.mark.parametrize("limits", [
        {"TOTAL_CAP": 2},
        {"TOTAL_CAP": 2, "NEWEST_BATCH": 1, "WALK_DENSITY": 0},  # newest first always walks, one by one
        {"TOTAL_CAP": 2, "WALK_DENSITY": 10**9},  # newest first always sorts
        {"TOTAL_CAP": 2, "COUNT_WALK_DENSITY": 10**9},  # Postgres always counts by reading rows
        {"TOTAL_CAP": 2, "COUNT_WALK_DENSITY": 10**9, "COUNT_WALK_ROWS": 3},  # ... and may fall back to the index
    ])
    async def test_same_pages(self, index: SearchIndex, monkeypatch: pytest.MonkeyPatch, limits: dict) -> None:
        expected = await everything(index)
        for name, value in limits.items():
            set_limit(monkeypatch, name, value)
        found = await everything(index)
        for key, (hits, total) in expected.items():
            assert found[key] == (hits, min(total, 2)), key


class TestTextTier:
    async def test_a_name_holding_every_word_comes_first(self, index: SearchIndex) -> None:
        found = [h.name for h in (await index.search("lima kilo")).hits]
        assert found == ["kilo-lima-with-a-rather-long-tail-name", "zulu"]

    async def test_newest_first_text_hits_carry_the_tier(self, index: SearchIndex) -> None:
        hits = (await index.search("teapot", sort="-updated", limit=100)).hits
        assert [h.updated for h in hits] == sorted((h.updated for h in hits), reverse=True)
        assert {h.score for h in hits if h.name.endswith(tuple(f"-pkg-{i}" for i in range(40)))} == {1000.0}
        assert hits[0].updated - hits[-1].updated <= timedelta(days=7)


@pytest.mark.parametrize(("key", "after"), [
    ("ab", "ac"), ("a\U0010ffff", "b"), ("\ud7ff", "\ue000"), ("\U0010ffff", None), ("", None),
])
def test_after_prefix(key: str, after: str | None) -> None:
    assert sqlite._after_prefix(key) == after
