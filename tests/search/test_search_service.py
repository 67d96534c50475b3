"""The search service through HTTP, with the index kept by the ``search-indexer`` consumer
following the journal, on both backend pairs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.search.indexing import CONSUMER_NAME, Indexer
from shared.db import Database
from shared.events import Consumer, ConsumerRunner, DatabaseBus
from shared.search import SearchDocument, open_search_index
from tests.conftest import Backend
from tests.factories.accounts import make_user_with_token
from tests.factories.queries import set_project_status
from tests.factories.uploads import subdir, upload
from tests.upload.validation.builders import build_wheel

DJANGO = "Classifier: Framework :: Django :: 4.2\nClassifier: Programming Language :: Python :: 3\n"


class Index:
    """The indexer consumer, run a batch at a time by the test."""

    def __init__(self, db: Database, settings: object) -> None:
        self.index = open_search_index(settings, db=db)  # type: ignore[arg-type]
        self.indexer = Indexer(db, self.index)
        self.runner = ConsumerRunner(Consumer(CONSUMER_NAME, self.indexer.handle), bus=DatabaseBus(db))

    async def catch_up(self) -> None:
        while await self.runner.run_once():
            pass


@pytest.fixture
async def index(app: object, db: Database, settings: object) -> Index:
    found = Index(db, settings)
    yield found
    await found.index.aclose()
    await found.runner.aclose()


@pytest.fixture
async def token(db: Database) -> str:
    return await make_user_with_token(db, "alice")


async def publish(client: httpx.AsyncClient, tmp_path: Path, token: str, name: str, version: str = "1.0",
                  extra: str = "") -> None:
    wheel = build_wheel(subdir(tmp_path, f"{name}-{version}"), name=name, version=version, metadata_extra=extra)
    response = await upload(client, wheel, token=token)
    assert response.status_code == 200, response.text


async def names(client: httpx.AsyncClient, **params: object) -> list[str]:
    response = await client.get("/api/search", params=params)
    assert response.status_code == 200, response.text
    return [r["name"] for r in response.json()["results"]]


class TestFollowsTheJournal:
    async def test_a_new_release_becomes_searchable(self, client: httpx.AsyncClient, tmp_path: Path, token: str,
                                                    index: Index) -> None:
        await publish(client, tmp_path, token, "requests-oauthlib")
        await publish(client, tmp_path, token, "requests", "2.0")
        assert await names(client, q="requests") == []  # not indexed yet
        await index.catch_up()
        found = (await client.get("/api/search", params={"q": "requests"})).json()
        assert [r["name"] for r in found["results"]][:2] == ["requests", "requests-oauthlib"]
        assert found["results"][0]["version"] == "2.0" and found["total"] >= 2

    async def test_yanked_only_quarantined_and_deleted_projects_drop_out(
        self, client: httpx.AsyncClient, db: Database, tmp_path: Path, token: str, index: Index
    ) -> None:
        for name in ("yanky", "risky", "gone"):
            await publish(client, tmp_path, token, name)
        await index.catch_up()
        for name in ("yanky", "risky", "gone"):
            assert (await names(client, q=name))[:1] == [name]
        auth = {"Authorization": f"Bearer {token}"}
        assert (await client.post("/api/projects/yanky/releases/1.0/yank", json={}, headers=auth)).status_code == 200
        assert (await client.delete("/api/projects/gone", headers=auth)).status_code == 204
        await set_project_status(db, "risky", "quarantined")
        await index.catch_up()
        for name in ("yanky", "gone"):
            assert await names(client, q=name) == []
        await index.indexer.refresh("risky")  # a status set directly in the database journals nothing
        assert await names(client, q="risky") == []

    async def test_the_document_describes_the_latest_final_release(
        self, client: httpx.AsyncClient, tmp_path: Path, token: str, index: Index
    ) -> None:
        await publish(client, tmp_path, token, "demo", "1.0")
        await publish(client, tmp_path, token, "demo", "2.0b1")
        await publish(client, tmp_path, token, "preonly", "0.1a1")
        await index.catch_up()
        [demo] = (await client.get("/api/search", params={"q": "demo"})).json()["results"][:1]
        assert demo["version"] == "1.0"
        [pre] = (await client.get("/api/search", params={"q": "preonly"})).json()["results"][:1]
        assert pre["version"] == "0.1a1"  # nothing final: the pre-release stands in

    async def test_reindex_rebuilds_from_the_database(
        self, client: httpx.AsyncClient, tmp_path: Path, token: str, index: Index
    ) -> None:
        await publish(client, tmp_path, token, "rebuilt")
        assert await index.indexer.reindex() == 1
        assert await names(client, q="rebuilt") == ["rebuilt"]

    async def test_a_change_while_reindexing_is_not_lost(
        self, client: httpx.AsyncClient, tmp_path: Path, token: str, index: Index, backend: Backend
    ) -> None:
        if backend.name.startswith("sqlite"):
            pytest.skip("on SQLite the rebuild's write transaction holds every writer back: nothing can change")
        await publish(client, tmp_path, token, "racing", "1.0")
        read_from_the_database = index.indexer._documents

        async def documents_then_a_new_release() -> AsyncIterator[SearchDocument]:
            async for document in read_from_the_database():
                yield document
                await publish(client, tmp_path, token, "racing", "2.0")  # after its document was built

        index.indexer._documents = documents_then_a_new_release  # type: ignore[method-assign]
        await index.indexer.reindex()
        [hit] = (await client.get("/api/search", params={"q": "racing"})).json()["results"]
        assert hit["version"] == "2.0"


class TestQueries:
    async def test_classifier_filter_matches_a_parent(
        self, client: httpx.AsyncClient, tmp_path: Path, token: str, index: Index
    ) -> None:
        await publish(client, tmp_path, token, "django-thing", extra=DJANGO)
        await publish(client, tmp_path, token, "plain-thing")
        await index.catch_up()
        assert await names(client, q="thing", classifier="Framework :: Django") == ["django-thing"]
        assert await names(client, classifier="Framework :: Django :: 4.2") == ["django-thing"]

    async def test_special_characters_are_plain_words(self, client: httpx.AsyncClient, index: Index) -> None:
        for q in ('"', "a AND b", "x* OR y", "(", "name:foo", "%_\\", "NEAR(a b)", "é"):
            assert (await client.get("/api/search", params={"q": q})).status_code == 200, q

    async def test_a_query_over_400_characters_is_a_400(self, client: httpx.AsyncClient, index: Index) -> None:
        response = await client.get("/api/search", params={"q": "a" * 401})
        assert response.status_code == 400
        assert "400" in response.json()["error"]["message"]
        assert (await client.get("/api/search", params={"q": "a" * 400})).status_code == 200

    @pytest.mark.parametrize("params", [{"per_page": 101}, {"page": 0}, {"sort": "name"}, {"page": 600}])
    async def test_bad_paging_is_refused(self, client: httpx.AsyncClient, index: Index,
                                         params: dict[str, object]) -> None:
        assert (await client.get("/api/search", params={"q": "x", **params})).status_code in (400, 422)

    async def test_the_html_page_escapes_what_it_shows(
        self, client: httpx.AsyncClient, tmp_path: Path, token: str, index: Index
    ) -> None:
        await publish(client, tmp_path, token, "shown")
        await index.catch_up()
        page = await client.get("/search", params={"q": "<script>shown"})
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "<script>shown" not in page.text and "&lt;script&gt;shown" in page.text
        assert 'href="/simple/shown/"' in page.text


class TestRateLimit:
    async def test_too_many_searches_answer_429(self, client: httpx.AsyncClient, db: Database,
                                                index: Index) -> None:
        from services.search.routes import SEARCH_PER_IP
        from shared.ratelimit import DatabaseRateLimiter

        limiter = DatabaseRateLimiter(db)
        for _ in range(SEARCH_PER_IP.limit):
            await limiter.hit(SEARCH_PER_IP, "127.0.0.1")
        response = await client.get("/api/search", params={"q": "x"})
        assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
