"""The SearchIndex contract (STYLE §10), run against every backend: SQLite FTS5 and Postgres
(through the parametrised ``backend`` fixture), and OpenSearch when
``WHEELHOUSE_TEST_OPENSEARCH_URL`` names a server (the ``...OnOpenSearch`` classes at the end,
which override ``index``); without one those are skipped with that reason."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta

import pytest

from shared.config import ServeSettings
from shared.db import Database
from shared.search import (
    PostgresSearchIndex,
    SearchDocument,
    SearchIndex,
    SqliteSearchIndex,
    open_search_index,
)
from shared.search.base import DESCRIPTION_LIMIT_BYTES
from tests.conftest import Backend

BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)


def doc(name: str, *, summary: str = "", keywords: str = "", description: str = "",
        classifiers: Iterable[str] = (), age_days: int = 0, version: str = "1.0") -> SearchDocument:
    return SearchDocument(
        name=name, display_name=name.title(), version=version, summary=summary, keywords=keywords,
        description=description, classifiers=tuple(classifiers), updated=BASE_TIME - timedelta(days=age_days),
    )


CORPUS = [
    doc("requests", summary="Python HTTP for Humans.", keywords="http client",
        classifiers=["Topic :: Internet :: WWW/HTTP", "Programming Language :: Python :: 3"], age_days=5),
    doc("requests-oauthlib", summary="OAuthlib authentication support for Requests.", keywords="oauth",
        classifiers=["Topic :: Internet :: WWW/HTTP"], age_days=30),
    doc("requests-toolbelt", summary="A utility belt for advanced users of python-requests", age_days=40),
    doc("httpie", summary="Command-line HTTP client that wraps requests nicely", age_days=2),
    doc("django", summary="A high-level Python web framework.", keywords="web framework",
        classifiers=["Framework :: Django", "Framework :: Django :: 4.2", "Programming Language :: Python :: 3"],
        age_days=1),
    doc("django-rest-framework", summary="Web APIs for Django, made easy.", keywords="api rest",
        classifiers=["Framework :: Django :: 4.2", "Topic :: Internet :: WWW/HTTP"], age_days=10),
    doc("djangorestframework-jwt", summary="JSON Web Token based authentication",
        classifiers=["Framework :: Django"], age_days=300),
    doc("flask", summary="A simple framework for building complex web applications.", keywords="wsgi web",
        classifiers=["Framework :: Flask", "Programming Language :: Python :: 3"], age_days=3),
    doc("flask-login", summary="User session management for Flask", classifiers=["Framework :: Flask"],
        age_days=60),
    doc("urllib3", summary="HTTP library with thread-safe connection pooling", keywords="urllib httplib",
        age_days=7),
    doc("anyio", summary="High level compatibility layer for multiple asynchronous event loop implementations",
        age_days=20),
    doc("zebra-summary", summary="teapot kettle"),
    doc("zebra-keywords", keywords="teapot kettle", age_days=1),
    doc("zebra-description", description="teapot kettle", age_days=2),
    doc("teapot-server", summary="Serves tea", age_days=3),
    doc("http", summary="tiny", age_days=400),
    doc("naive-unicode", summary="naïve café résumé 日本語 ünïcode", age_days=4),
]


async def documents(items: Iterable[SearchDocument]) -> AsyncIterator[SearchDocument]:
    for item in items:
        yield item


@pytest.fixture
async def index(app: object, db: Database, backend: Backend, settings: ServeSettings) -> AsyncIterator[SearchIndex]:
    search_index = open_search_index(settings, db=db)
    expected = SqliteSearchIndex if backend.name.startswith("sqlite") else PostgresSearchIndex
    assert isinstance(search_index, expected)
    yield search_index
    await search_index.aclose()


@pytest.fixture
async def corpus(index: SearchIndex) -> SearchIndex:
    assert await index.rebuild(documents(CORPUS)) == len(CORPUS)
    return index


async def names(index: SearchIndex, query: str, **options: object) -> list[str]:
    results = await index.search(query, limit=100, **options)  # type: ignore[arg-type]
    assert results.total == len(results.hits)
    return [hit.name for hit in results.hits]


class TestRanking:
    async def test_exact_name_first_then_prefix_then_text(self, corpus: SearchIndex) -> None:
        found = await names(corpus, "requests")
        assert found[0] == "requests"
        assert set(found[1:3]) == {"requests-oauthlib", "requests-toolbelt"}
        assert "httpie" in found[3:]  # only its summary mentions requests

    async def test_exact_match_beats_better_textual_matches(self, corpus: SearchIndex) -> None:
        # "teapot" is in many summaries; the project named teapot-server is not an exact match,
        # but a query normalising to its name is.
        found = await names(corpus, "Teapot_Server")
        assert found[0] == "teapot-server"
        found = await names(corpus, "HTTP")  # in many summaries and keywords, and a prefix of httpie
        assert found[:2] == ["http", "httpie"]
        assert set(found[2:]) == {"requests", "urllib3"}

    async def test_query_is_normalised_like_a_name(self, corpus: SearchIndex) -> None:
        assert (await names(corpus, "Django.Rest_Framework"))[0] == "django-rest-framework"

    async def test_prefix_matches_rank_shorter_names_first(self, corpus: SearchIndex) -> None:
        found = await names(corpus, "djan")
        assert found[:3] == ["django", "djangorestframework-jwt", "django-rest-framework"] or \
            found[:3] == ["django", "django-rest-framework", "djangorestframework-jwt"]
        assert found[0] == "django"

    async def test_typo_finds_the_name(self, corpus: SearchIndex) -> None:
        assert (await names(corpus, "requsts"))[0] == "requests"
        assert (await names(corpus, "flaks"))[0] == "flask"

    async def test_fuzzy_ranks_below_prefix(self, corpus: SearchIndex) -> None:
        found = await names(corpus, "flask")
        assert found[:2] == ["flask", "flask-login"]

    async def test_fields_rank_name_summary_keywords_description(self, corpus: SearchIndex) -> None:
        found = await names(corpus, "kettle")
        assert found == ["zebra-summary", "zebra-keywords", "zebra-description"]
        found = await names(corpus, "teapot")
        assert found == ["teapot-server", "zebra-summary", "zebra-keywords", "zebra-description"]

    async def test_all_words_must_match(self, corpus: SearchIndex) -> None:
        assert await names(corpus, "thread pooling") == ["urllib3"]
        assert await names(corpus, "thread kettle") == []

    async def test_words_match_as_prefixes(self, corpus: SearchIndex) -> None:
        assert "anyio" in await names(corpus, "asynchron")

    async def test_scores_descend_in_tiers(self, corpus: SearchIndex) -> None:
        results = await corpus.search("requests")
        scores = [hit.score for hit in results.hits]
        assert scores == sorted(scores, reverse=True)
        assert scores[0] >= 4000 > scores[1] >= 3000 > scores[-1] >= 1000

    async def test_no_match(self, corpus: SearchIndex) -> None:
        results = await corpus.search("xylophone")
        assert results.hits == [] and results.total == 0


class TestClassifiers:
    async def test_parent_matches_children(self, corpus: SearchIndex) -> None:
        found = await names(corpus, "", classifiers=["Framework :: Django"])
        assert set(found) == {"django", "django-rest-framework", "djangorestframework-jwt"}

    async def test_exact_leaf(self, corpus: SearchIndex) -> None:
        found = await names(corpus, "", classifiers=["Framework :: Django :: 4.2"])
        assert set(found) == {"django", "django-rest-framework"}

    async def test_partial_segment_does_not_match(self, corpus: SearchIndex) -> None:
        assert await names(corpus, "", classifiers=["Framework :: Dj"]) == []
        assert await names(corpus, "", classifiers=["Framework :: Django :: 4"]) == []
        assert await names(corpus, "", classifiers=["Django"]) == []

    async def test_several_classifiers_all_match(self, corpus: SearchIndex) -> None:
        found = await names(corpus, "", classifiers=["Framework :: Django", "Topic :: Internet :: WWW/HTTP"])
        assert found == ["django-rest-framework"]

    async def test_with_a_query(self, corpus: SearchIndex) -> None:
        found = await names(corpus, "requests", classifiers=["Topic :: Internet"])
        assert found == ["requests", "requests-oauthlib"]

    async def test_spacing_around_separators_does_not_matter(self, corpus: SearchIndex) -> None:
        found = await names(corpus, "", classifiers=["Framework::Flask"])
        assert set(found) == {"flask", "flask-login"}

    async def test_newline_in_a_classifier_never_spans_two(self, corpus: SearchIndex) -> None:
        query = "Framework :: Django\nFramework :: Django :: 4.2"
        assert await names(corpus, "", classifiers=[query]) == []

    async def test_unbindable_characters_are_dropped(self, corpus: SearchIndex) -> None:
        assert await names(corpus, "", classifiers=["Framework :: Flask\x00"]) == ["flask", "flask-login"]
        assert await names(corpus, "", classifiers=["Framework :: Flask\ud800"]) == ["flask", "flask-login"]

    async def test_wildcards_are_literal(self, corpus: SearchIndex) -> None:
        assert await names(corpus, "", classifiers=["Framework :: %"]) == []
        assert await names(corpus, "", classifiers=["Framework :: Djang_"]) == []

    async def test_empty_query_without_classifiers_finds_nothing(self, corpus: SearchIndex) -> None:
        for query in ("", "   ", "***", "-"):
            results = await corpus.search(query)
            assert results.hits == [] and results.total == 0


class TestSorting:
    async def test_newest_first(self, corpus: SearchIndex) -> None:
        found = await names(corpus, "requests", sort="-updated")
        assert found == ["httpie", "requests", "requests-oauthlib", "requests-toolbelt"]

    async def test_newest_first_with_classifiers_only(self, corpus: SearchIndex) -> None:
        found = await names(corpus, "", classifiers=["Framework :: Flask"], sort="-updated")
        assert found == ["flask", "flask-login"]


class TestPaging:
    async def test_total_counts_every_match_and_pages_are_stable(self, corpus: SearchIndex) -> None:
        everything = await names(corpus, "", classifiers=["Programming Language :: Python"])
        assert len(everything) == 3
        query = "web"
        full = await corpus.search(query, limit=100)
        assert full.total >= 4
        paged = []
        for offset in range(0, full.total, 2):
            page = await corpus.search(query, offset=offset, limit=2)
            assert page.total == full.total
            paged.extend(hit.name for hit in page.hits)
        assert paged == [hit.name for hit in full.hits]

    async def test_beyond_the_end(self, corpus: SearchIndex) -> None:
        page = await corpus.search("requests", offset=50, limit=10)
        assert page.hits == [] and page.total == 4

    async def test_limit_zero_still_counts(self, corpus: SearchIndex) -> None:
        page = await corpus.search("requests", limit=0)
        assert page.hits == [] and page.total == 4

    async def test_negative_paging_is_refused(self, corpus: SearchIndex) -> None:
        with pytest.raises(ValueError):
            await corpus.search("requests", offset=-1)


class TestHostileQueries:
    @pytest.mark.parametrize("query", [
        '"', "'", "*", ":", "(", ")", "-", "^", "NEAR", "AND", "OR", "NOT", "\\", "%", "_",
        'requests"', "requests*", "name:requests", "(requests OR django)", "NEAR(requests django)",
        "requests AND NOT django", "-requests", "^requests", "req\\uests", "100%", "a_b", "'; DROP TABLE x; --",
        "'requests':* | django", "!!!", "\x00", "requests\x00", "\ud800requests", "re\u0301quests", "{name}: requests", "é", "日本語", "🐍 python",
    ])
    async def test_returns_normally(self, corpus: SearchIndex, query: str) -> None:
        results = await corpus.search(query)
        assert results.total >= len(results.hits)

    async def test_operators_are_plain_words(self, corpus: SearchIndex) -> None:
        assert await names(corpus, "kettle OR wsgi") == []  # "or" is a word, not an operator
        assert await names(corpus, "kettle NOT teapot") == []
        assert await names(corpus, "NEAR(kettle teapot)") == []
        assert (await names(corpus, '"requests"'))[0] == "requests"
        assert (await names(corpus, "requests*"))[0] == "requests"

    async def test_percent_and_underscore_are_not_wildcards(self, corpus: SearchIndex) -> None:
        assert await names(corpus, "%") == []
        assert await names(corpus, "_") == []

    async def test_long_query(self, corpus: SearchIndex) -> None:
        results = await corpus.search(("requests " * 50)[:400])
        assert results.total >= 1
        results = await corpus.search("x" * 400)
        assert results.total == 0

    async def test_unicode(self, corpus: SearchIndex) -> None:
        assert await names(corpus, "naïve café") == ["naive-unicode"]
        assert await names(corpus, "日本語") == ["naive-unicode"]


class TestWrites:
    async def test_upsert_adds_and_replaces(self, index: SearchIndex) -> None:
        await index.upsert(doc("widget", summary="old words"))
        await index.upsert(doc("widget", summary="new words", version="2.0", classifiers=["Topic :: Games"]))
        assert await names(index, "old") == []
        results = await index.search("new")
        assert [(h.name, h.version, h.summary) for h in results.hits] == [("widget", "2.0", "new words")]
        assert results.hits[0].display_name == "Widget"
        assert results.hits[0].updated == BASE_TIME
        assert await names(index, "", classifiers=["Topic :: Games"]) == ["widget"]

    async def test_delete(self, corpus: SearchIndex) -> None:
        await corpus.delete("Requests")  # any spelling of the name
        assert "requests" not in await names(corpus, "requests")
        assert "requests" not in await names(corpus, "requsts")
        await corpus.delete("requests")  # absent: no error
        await corpus.delete("never-existed")

    async def test_rebuild_replaces_everything(self, corpus: SearchIndex) -> None:
        count = await corpus.rebuild(documents([doc("solo", summary="only one"), doc("Solo", summary="dup")]))
        assert count == 1
        assert await names(corpus, "requests") == []
        assert await names(corpus, "dup") == ["solo"]
        assert await corpus.rebuild(documents([])) == 0
        assert await names(corpus, "solo") == []

    async def test_rebuild_in_batches(self, index: SearchIndex) -> None:
        many = [doc(f"pkg-{i}", summary="bulk") for i in range(1201)]
        assert await index.rebuild(documents(many)) == 1201
        assert (await index.search("bulk", limit=1)).total == 1201

    async def test_rebuild_is_atomic_for_readers(self, corpus: SearchIndex) -> None:
        started, release = asyncio.Event(), asyncio.Event()

        async def slow() -> AsyncIterator[SearchDocument]:
            yield doc("fresh", summary="new index")
            started.set()
            await release.wait()

        rebuilding = asyncio.create_task(corpus.rebuild(slow()))
        await started.wait()
        assert (await names(corpus, "requests"))[0] == "requests"  # the old index, mid-rebuild
        assert await names(corpus, "fresh") == []
        release.set()
        assert await rebuilding == 1
        assert await names(corpus, "fresh") == ["fresh"]
        assert await names(corpus, "requests") == []

    async def test_failed_rebuild_keeps_the_old_index(self, corpus: SearchIndex) -> None:
        async def broken() -> AsyncIterator[SearchDocument]:
            yield doc("fresh")
            raise RuntimeError("source failed")

        with pytest.raises(RuntimeError):
            await corpus.rebuild(broken())
        assert (await names(corpus, "requests"))[0] == "requests"

    async def test_description_indexed_up_to_64_kib(self, index: SearchIndex) -> None:
        filler = "é" * (DESCRIPTION_LIMIT_BYTES // 2 - 10)
        await index.upsert(doc("long-text", description=f"{filler} early ending " + "x " * 100 + " lateword"))
        assert await names(index, "early") == ["long-text"]
        assert await names(index, "lateword") == []


OPENSEARCH_URL = os.environ.get("WHEELHOUSE_TEST_OPENSEARCH_URL", "")
on_opensearch = pytest.mark.skipif(not OPENSEARCH_URL,
                                   reason="no OpenSearch server: set WHEELHOUSE_TEST_OPENSEARCH_URL")


class OnOpenSearch:
    """The contract classes again, with ``index`` an ``OpenSearchIndex`` on a fresh alias per test."""

    @pytest.fixture
    async def index(self) -> AsyncIterator[SearchIndex]:
        from shared.search.opensearch import OpenSearchIndex

        alias = f"wheelhouse-test-{uuid.uuid4().hex}"
        search_index = OpenSearchIndex(OPENSEARCH_URL, alias)
        try:
            yield search_index
        finally:
            leftovers = await search_index.client.indices.get(index=f"{alias}-*")
            if leftovers:
                await search_index.client.indices.delete(index=",".join(leftovers))
            await search_index.aclose()


@on_opensearch
class TestRankingOnOpenSearch(OnOpenSearch, TestRanking):
    pass


@on_opensearch
class TestClassifiersOnOpenSearch(OnOpenSearch, TestClassifiers):
    pass


@on_opensearch
class TestSortingOnOpenSearch(OnOpenSearch, TestSorting):
    pass


@on_opensearch
class TestPagingOnOpenSearch(OnOpenSearch, TestPaging):
    pass


@on_opensearch
class TestHostileQueriesOnOpenSearch(OnOpenSearch, TestHostileQueries):
    pass


@on_opensearch
class TestWritesOnOpenSearch(OnOpenSearch, TestWrites):
    pass
