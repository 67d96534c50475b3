"""The OpenSearch backend without a server: its mapping, documents and query bodies, the
factory's choice, and the write and rebuild sequences against a fake transport.

No OpenSearch can run on this machine (no package, no container runtime), so the request
sequences run the real opensearch-py client over ``FakeConnection``, a stand-in for the
HTTP layer that keeps just enough index/alias state to answer.  That checks what we send
and how we react to answers, not what a real engine does with it: ranking, analysis and
scripts are checked only by the contract suite in ``test_index.py``, which runs against
a real server when ``WHEELHOUSE_TEST_OPENSEARCH_URL`` is set (see docs/search.md).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import unicodedata
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from opensearchpy import AsyncConnection, AsyncOpenSearch, ConnectionTimeout
from opensearchpy.helpers import BulkIndexError

from shared.config import SharedSettings
from shared.search import SqliteSearchIndex, open_search_index
from shared.search.base import DESCRIPTION_LIMIT_BYTES, TOTAL_CAP, name_trigrams, parse_query
from shared.search.opensearch import (
    FUZZY_SCRIPT,
    PREFIX_SCRIPT,
    TEXT_SCRIPT,
    OpenSearchIndex,
    client_url,
    document_source,
    index_body,
    search_body,
)
from tests.shared.search.test_index import doc

ROOT = Path(__file__).resolve().parents[3]
ALIAS = "projects"


class FakeServer:
    """Indices, aliases and documents, as far as the adapter's calls need them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, str], Any]] = []
        self.aliases: dict[str, set[str]] = {}  # index -> its aliases
        self.docs: dict[str, dict[str, dict[str, Any]]] = {}
        self.failures: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}  # one-shot answers
        self.timeout_after: set[tuple[str, str]] = set()  # apply, then time out
        self.bulk_errors = False
        self.search_answer: dict[str, Any] = {"hits": {"total": {"value": 0, "relation": "eq"}, "hits": []}}

    def add_index(self, name: str, *aliases: str) -> None:
        self.aliases[name] = set(aliases)
        self.docs[name] = {}

    def behind(self, alias: str) -> list[str]:
        return sorted(index for index, aliases in self.aliases.items() if alias in aliases)

    def paths(self) -> list[str]:
        return [f"{method} {path}" for method, path, _, _ in self.calls]

    def handle(self, method: str, path: str, params: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        self.calls.append((method, path, params, body))
        if (method, path) in self.failures:
            return self.failures.pop((method, path))
        parts = path.strip("/").split("/")
        answer = self._route(method, parts, params, body)
        if (method, path) in self.timeout_after:
            raise ConnectionTimeout("TIMEOUT", "timed out after the server applied it", None)
        return answer

    def _route(self, method: str, parts: list[str], params: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        match method, parts:
            case "HEAD", ["_alias", alias]:
                return (200, {}) if self.behind(alias) else (404, {})
            case "GET", ["_alias", alias]:
                found = self.behind(alias)
                return (200, {i: {"aliases": {alias: {}}} for i in found}) if found else (404, _error("alias missing"))
            case "PUT", [index]:
                if index in self.aliases:
                    return 400, _error("resource_already_exists_exception")
                self.add_index(index, *body.get("aliases", {}))
                return 200, {"acknowledged": True}
            case "DELETE", [indices]:
                for index in indices.split(","):
                    if index not in self.aliases:
                        return 404, _error("index_not_found_exception")
                    del self.aliases[index], self.docs[index]
                return 200, {"acknowledged": True}
            case "POST", ["_aliases"]:
                return self._update_aliases(body["actions"])
            case "POST", ["_bulk"]:
                return self._bulk(body)
            case ("PUT", [index, "_settings"]) | ("POST", [index, "_refresh"]):
                return 200, {"acknowledged": True}
            case ("GET" | "POST"), [index, "_count"]:
                return 200, {"count": len(self.docs[index])}
            case "PUT", [alias, "_doc", name]:
                indices = self.behind(alias)
                if not indices and params.get("require_alias") == "true":
                    return 404, _error("index_not_found_exception")
                self.docs[indices[0]][name] = body
                return 201, {"result": "created"}
            case "DELETE", [alias, "_doc", name]:
                indices = self.behind(alias)
                if not indices or self.docs[indices[0]].pop(name, None) is None:
                    return 404, {"result": "not_found"}
                return 200, {"result": "deleted"}
            case "POST", [alias, "_search"]:
                return (200, self.search_answer) if self.behind(alias) else (404, _error("index_not_found_exception"))
        raise AssertionError(f"unexpected request {method} /{'/'.join(parts)}")

    def _update_aliases(self, actions: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        for action in actions:  # all or nothing, as the engine does
            if "remove" in action and action["remove"]["alias"] not in self.aliases.get(action["remove"]["index"], ()):
                return 404, _error("aliases_not_found_exception")
        for action in actions:
            (kind, target), = action.items()
            aliases = self.aliases[target["index"]]
            aliases.add(target["alias"]) if kind == "add" else aliases.discard(target["alias"])
        return 200, {"acknowledged": True}

    def _bulk(self, lines: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        items = []
        for action, source in zip(lines[::2], lines[1::2], strict=True):
            target = action["index"]
            self.docs[target["_index"]][target["_id"]] = source
            status = 400 if self.bulk_errors else 201
            items.append({"index": {**target, "status": status, **({"error": {"type": "mapper_parsing_exception"}}
                                                                   if self.bulk_errors else {})}})
        return 200, {"took": 1, "errors": self.bulk_errors, "items": items}


def _error(kind: str) -> dict[str, Any]:
    return {"error": {"type": kind, "reason": kind}, "status": 0}


class FakeConnection(AsyncConnection):
    """opensearch-py's HTTP layer, answered by a ``FakeServer`` instead of a socket."""

    def __init__(self, *, server: FakeServer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.server = server

    async def perform_request(self, method: str, url: str, params: Any = None, body: Any = None,
                              timeout: Any = None, ignore: Any = (), headers: Any = None) -> Any:
        text = body.decode() if isinstance(body, bytes) else body
        decoded: Any = None
        if text:
            lines = [json.loads(line) for line in text.splitlines() if line]
            decoded = lines if url.endswith("/_bulk") else lines[0]
        query = {key: value.decode() if isinstance(value, bytes) else str(value)
                 for key, value in (params or {}).items()}
        status, answer = self.server.handle(method, url, query, decoded)
        raw = json.dumps(answer)
        if not 200 <= status < 300 and status not in ignore:
            self._raise_error(status, raw, "application/json")
        return status, {"content-type": "application/json"}, raw

    async def close(self) -> None:
        pass


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
async def index(server: FakeServer) -> AsyncIterator[OpenSearchIndex]:
    client = AsyncOpenSearch(hosts=["http://opensearch.invalid:9200"], connection_class=FakeConnection, server=server)
    yield OpenSearchIndex("http://opensearch.invalid:9200", ALIAS, client=client, batch_size=2)
    await client.close()


async def documents(*items: Any) -> AsyncIterator[Any]:
    for item in items:
        yield item


def leaves(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, (*path, key))
    elif isinstance(node, list):
        for value in node:
            yield from leaves(value, path)
    else:
        yield path, node


class TestMapping:
    def test_analysis_uses_only_built_in_components(self) -> None:
        analysis = index_body()["settings"]["analysis"]
        assert {t["type"] for t in analysis["tokenizer"].values()} <= {"pattern", "standard"}
        assert {f["type"] for f in analysis["filter"].values()} <= {"edge_ngram", "truncate", "lowercase"}
        for analyzer in analysis["analyzer"].values():
            assert analyzer["type"] == "custom" and analyzer["tokenizer"] in analysis["tokenizer"]
            assert set(analyzer["filter"]) <= {"lowercase", *analysis["filter"]}

    def test_words_tokenizer_keeps_what_parse_query_keeps(self) -> None:
        pattern = index_body()["settings"]["analysis"]["tokenizer"]["words"]["pattern"]
        kept = set(re.findall(r"\\p\{(\w)\}", pattern))  # the Unicode categories the pattern keeps
        assert pattern == "[^" + "".join(f"\\p{{{c}}}" for c in sorted(kept)) + "]+"
        word = re.compile(r"[^\W_]")
        for code in range(0x10000):
            char = chr(code)
            if not 0xD800 <= code <= 0xDFFF:
                assert (unicodedata.category(char)[0] in kept) == bool(word.match(char)), hex(code)

    def test_text_fields_index_word_prefixes_and_search_whole_words(self) -> None:
        properties = index_body()["mappings"]["properties"]
        for field in (properties["summary"], properties["keywords"], properties["description"],
                      properties["name"]["fields"]["words"]):
            assert (field["analyzer"], field["search_analyzer"]) == ("word_prefixes", "word_search")
        assert properties["name"]["type"] == properties["classifier_paths"]["type"] == "keyword"

    def test_mapping_is_strict_and_keeps_descriptions_out_of_source(self) -> None:
        mappings = index_body()["mappings"]
        assert mappings["dynamic"] == "strict"
        assert mappings["_source"] == {"excludes": ["description"]}
        assert set(document_source(doc("x"))) == set(mappings["properties"])

    def test_rebuild_body_pauses_refresh(self) -> None:
        assert index_body(refresh_interval="-1")["settings"]["index"]["refresh_interval"] == "-1"
        assert "refresh_interval" not in index_body()["settings"]["index"]


class TestDocumentSource:
    def test_fields(self) -> None:
        source = document_source(doc("Requests_OAuthlib", description="é" * DESCRIPTION_LIMIT_BYTES,
                                     classifiers=["Framework::Django :: 4.2", "Topic :: Internet"]))
        assert source["name"] == "requests-oauthlib"
        assert source["name_trigrams"] == list(name_trigrams("requests-oauthlib"))
        assert source["name_trigram_count"] == len(name_trigrams("requests-oauthlib"))
        assert source["classifier_paths"] == ["Framework", "Framework :: Django", "Framework :: Django :: 4.2",
                                              "Topic", "Topic :: Internet"]
        assert len(source["description"].encode()) == DESCRIPTION_LIMIT_BYTES
        assert datetime.fromisoformat(source["updated"]) == datetime(2026, 1, 1, tzinfo=UTC)


class TestSearchBody:
    def body(self, query: str, classifiers: tuple[str, ...] = (), **options: Any) -> dict[str, Any]:
        return search_body(parse_query(query, classifiers),
                           **{"offset": 0, "limit": 20, "sort": "relevance", **options})

    def test_one_clause_per_tier_in_a_dis_max(self) -> None:
        (dis_max,) = self.body("Requests")["query"]["bool"]["must"]
        exact, prefix, fuzzy, text = dis_max["dis_max"]["queries"]
        assert dis_max["dis_max"]["tie_breaker"] == 0.0
        assert exact == {"constant_score": {"filter": {"terms": {"name": ["requests"]}}, "boost": 4000.0}}
        assert prefix["function_score"]["query"] == {"prefix": {"name": {"value": "requests"}}}
        assert prefix["function_score"]["script_score"]["script"]["params"] == {"tier": 3000.0}
        fuzzy = fuzzy["function_score"]
        trigrams = [c["constant_score"]["filter"]["term"]["name_trigrams"] for c in fuzzy["query"]["bool"]["should"]]
        assert trigrams == list(name_trigrams("requests"))
        assert fuzzy["min_score"] == 2000.0
        assert fuzzy["script_score"]["script"]["params"] == {"tier": 2000.0, "threshold": 0.3, "query_trigrams": 9}
        assert text["function_score"]["script_score"]["script"]["params"]["tier"] == 1000.0
        assert all(f["function_score"]["boost_mode"] == "replace" for f in (prefix, {"function_score": fuzzy}, text))

    def test_every_word_must_match_a_field_weighted_name_first(self) -> None:
        text = self.body("thread pooling")["query"]["bool"]["must"][0]["dis_max"]["queries"][-1]
        words = text["function_score"]["query"]["bool"]["must"]
        assert [w["multi_match"]["query"] for w in words] == ["thread", "pooling"]
        assert words[0]["multi_match"]["fields"] == ["name.words^1000", "summary^100", "keywords^10", "description^1"]

    def test_short_keys_have_no_fuzzy_clause(self) -> None:
        queries = self.body("ab")["query"]["bool"]["must"][0]["dis_max"]["queries"]
        assert len(queries) == 3 and "min_score" not in json.dumps(queries)

    def test_user_input_only_in_values(self) -> None:
        body = self.body('zqx:req* OR "zqx" {"script": 1} \\u0000 (a)', classifiers=("Zqx :: * OR x",))
        allowed = {("terms", "name"), ("prefix", "name", "value"), ("term", "name_trigrams"),
                   ("multi_match", "query"), ("term", "classifier_paths")}
        found = 0
        for path, value in leaves(body):
            assert not {"query_string", "simple_query_string", "wildcard", "regexp", "fuzzy"} & set(path)
            if path[-1] == "source":
                assert value in (PREFIX_SCRIPT, FUZZY_SCRIPT, TEXT_SCRIPT)
            elif isinstance(value, str) and "zqx" in value.lower():
                found += 1
                assert any(path[-len(parent):] == parent for parent in allowed), path
        assert found > 5

    def test_classifiers_filter_by_term_on_paths(self) -> None:
        body = self.body("", classifiers=("Framework::Django", "Topic :: Internet"))
        assert body["query"] == {"bool": {"filter": [{"term": {"classifier_paths": "Framework :: Django"}},
                                                     {"term": {"classifier_paths": "Topic :: Internet"}}]}}

    def test_sort_orders(self) -> None:
        assert self.body("x")["sort"] == [{"_score": "desc"}, {"name": "asc"}]
        newest = self.body("x", sort="-updated")
        assert newest["sort"] == [{"updated": "desc"}, {"name": "asc"}]
        assert newest["track_scores"] is True and newest["track_total_hits"] == TOTAL_CAP  # counted as far as SQL counts

    def test_paging_stays_inside_the_result_window(self) -> None:
        def window(offset: int) -> tuple[int, int]:
            body = self.body("x", offset=offset, limit=20)
            return body["from"], body["size"]

        assert window(40) == (40, 20)
        assert window(9990) == (9990, 10)
        assert window(20000) == (10000, 0)


class FakeDb:
    class write_engine:  # noqa: N801 - stands in for an engine attribute
        class dialect:  # noqa: N801
            name = "sqlite"


class TestFactory:
    async def test_url_chooses_opensearch(self, tmp_path: Path) -> None:
        settings = SharedSettings(data_dir=tmp_path, opensearch_url="https://search.example:9200",
                                  opensearch_index="pkgs")
        index = open_search_index(settings, db=FakeDb())  # type: ignore[arg-type]
        assert isinstance(index, OpenSearchIndex) and index.alias == "pkgs"
        await index.aclose()

    def test_no_url_chooses_sql(self, tmp_path: Path) -> None:
        settings = SharedSettings(data_dir=tmp_path, opensearch_url=None)
        assert isinstance(open_search_index(settings, db=FakeDb()), SqliteSearchIndex)  # type: ignore[arg-type]

    def test_unknown_dialect_is_refused(self, tmp_path: Path) -> None:
        class OracleDb:
            class write_engine:  # noqa: N801
                class dialect:  # noqa: N801
                    name = "oracle"

        with pytest.raises(ValueError, match="oracle"):
            settings = SharedSettings(data_dir=tmp_path, opensearch_url=None)
            open_search_index(settings, db=OracleDb())  # type: ignore[arg-type]

    def test_url_schemes(self) -> None:
        assert client_url("opensearch://user:pw@search:9200") == "http://user:pw@search:9200"
        assert client_url("https://search:9200/prefix") == "https://search:9200/prefix"
        with pytest.raises(ValueError, match="ftp"):
            client_url("ftp://search")

    def test_sql_default_does_not_load_opensearch_py(self) -> None:
        code = "import sys, shared.search; print('opensearchpy' in sys.modules)"
        result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
        assert result.stdout.strip() == "False"


class TestWrites:
    async def test_first_write_creates_the_alias_once(self, index: OpenSearchIndex, server: FakeServer) -> None:
        await index.upsert(doc("Requests", summary="one"))
        await index.upsert(doc("requests", summary="two"))
        assert server.paths() == ["HEAD /_alias/projects", "PUT /projects-initial",
                                  "PUT /projects/_doc/requests", "PUT /projects/_doc/requests"]
        assert server.calls[1][3]["aliases"] == {ALIAS: {}}
        assert server.calls[2][2] == {"refresh": "true", "require_alias": "true"}
        assert server.docs["projects-initial"]["requests"]["summary"] == "two"

    async def test_an_index_created_meanwhile_is_used(self, index: OpenSearchIndex, server: FakeServer) -> None:
        server.add_index("projects-initial", ALIAS)  # another process won the race after our HEAD
        server.failures[("HEAD", "/_alias/projects")] = (404, {})
        await index.upsert(doc("widget"))
        assert list(server.docs["projects-initial"]) == ["widget"]

    async def test_a_vanished_alias_is_created_again(self, index: OpenSearchIndex, server: FakeServer) -> None:
        await index.upsert(doc("widget"))
        server.aliases.clear()
        server.docs.clear()
        with pytest.raises(Exception, match="index_not_found"):
            await index.upsert(doc("widget"))
        await index.upsert(doc("widget"))
        assert list(server.docs["projects-initial"]) == ["widget"]

    async def test_other_creation_errors_propagate(self, index: OpenSearchIndex, server: FakeServer) -> None:
        server.failures[("PUT", "/projects-initial")] = (400, _error("illegal_argument_exception"))
        with pytest.raises(Exception, match="illegal_argument"):
            await index.upsert(doc("widget"))

    async def test_deleting_an_absent_document_is_quiet(self, index: OpenSearchIndex, server: FakeServer) -> None:
        await index.delete("Never_Existed")
        assert server.paths()[-1] == "DELETE /projects/_doc/never-existed"


class TestSearch:
    async def test_hits_and_total(self, index: OpenSearchIndex, server: FakeServer) -> None:
        server.add_index("projects-1", ALIAS)
        server.search_answer = {"hits": {"total": {"value": 7, "relation": "eq"}, "hits": [
            {"_score": 4000.0, "_source": {"name": "requests", "display_name": "Requests", "version": "2.0",
                                           "summary": "HTTP", "updated": "2026-01-01T00:00:00+00:00"}}]}}
        results = await index.search("requests", limit=1)
        assert results.total == 7
        (hit,) = results.hits
        assert (hit.name, hit.display_name, hit.score, hit.updated) == (
            "requests", "Requests", 4000.0, datetime(2026, 1, 1, tzinfo=UTC))
        assert server.paths() == ["POST /projects/_search"]

    async def test_nothing_indexed_yet(self, index: OpenSearchIndex, server: FakeServer) -> None:
        results = await index.search("requests")
        assert results.hits == [] and results.total == 0

    async def test_empty_query_asks_nothing(self, index: OpenSearchIndex, server: FakeServer) -> None:
        assert (await index.search("***")).total == 0
        assert server.calls == []


class TestRebuild:
    def new_index(self, server: FakeServer) -> str:
        (name,) = {path.split("/")[1] for _, path, _, _ in server.calls
                   if re.fullmatch(r"/projects-\d{20}", path)}
        return name

    async def test_loads_then_swaps_the_alias_in_one_call(self, index: OpenSearchIndex, server: FakeServer) -> None:
        server.add_index("projects-old", ALIAS)
        count = await index.rebuild(documents(doc("a"), doc("b"), doc("A", summary="later")))
        new = self.new_index(server)
        assert count == 2
        assert server.paths() == [
            f"PUT /{new}", "POST /_bulk", "POST /_bulk", f"PUT /{new}/_settings", f"POST /{new}/_refresh",
            f"POST /{new}/_count", "GET /_alias/projects", "POST /_aliases", "DELETE /projects-old"]
        assert server.calls[0][3]["settings"]["index"]["refresh_interval"] == "-1"
        assert server.calls[3][3] == {"index": {"refresh_interval": None}}
        assert server.calls[7][3] == {"actions": [{"remove": {"index": "projects-old", "alias": ALIAS}},
                                                  {"add": {"index": new, "alias": ALIAS}}]}
        assert server.behind(ALIAS) == [new] and list(server.aliases) == [new]
        assert server.docs[new]["a"]["summary"] == "later"

    async def test_first_rebuild_only_adds_the_alias(self, index: OpenSearchIndex, server: FakeServer) -> None:
        assert await index.rebuild(documents()) == 0
        new = self.new_index(server)
        assert server.calls[-1][3] == {"actions": [{"add": {"index": new, "alias": ALIAS}}]}
        await index.upsert(doc("widget"))  # the alias is known now: no HEAD, no -initial index
        assert "HEAD /_alias/projects" not in server.paths() and list(server.docs[new]) == ["widget"]

    async def test_failed_source_deletes_the_new_index(self, index: OpenSearchIndex, server: FakeServer) -> None:
        server.add_index("projects-old", ALIAS)

        async def broken() -> AsyncIterator[Any]:
            yield doc("a")
            raise RuntimeError("source failed")

        with pytest.raises(RuntimeError, match="source failed"):
            await index.rebuild(broken())
        assert "POST /_aliases" not in server.paths()
        assert server.paths()[-1] == f"DELETE /{self.new_index(server)}"
        assert list(server.aliases) == ["projects-old"] and server.behind(ALIAS) == ["projects-old"]

    async def test_rejected_documents_fail_the_rebuild(self, index: OpenSearchIndex, server: FakeServer) -> None:
        server.add_index("projects-old", ALIAS)
        server.bulk_errors = True
        with pytest.raises(BulkIndexError):
            await index.rebuild(documents(doc("a")))
        assert list(server.aliases) == ["projects-old"] and server.behind(ALIAS) == ["projects-old"]

    async def test_failed_swap_deletes_the_new_index(self, index: OpenSearchIndex, server: FakeServer) -> None:
        server.add_index("projects-old", ALIAS)
        server.failures[("POST", "/_aliases")] = (400, _error("illegal_argument_exception"))
        with pytest.raises(Exception, match="illegal_argument"):
            await index.rebuild(documents(doc("a")))
        assert list(server.aliases) == ["projects-old"] and server.behind(ALIAS) == ["projects-old"]

    async def test_swap_applied_but_unanswered_keeps_the_new_index(self, index: OpenSearchIndex,
                                                                   server: FakeServer) -> None:
        server.add_index("projects-old", ALIAS)
        server.timeout_after.add(("POST", "/_aliases"))
        with pytest.raises(ConnectionTimeout):
            await index.rebuild(documents(doc("a")))
        new = self.new_index(server)
        assert server.behind(ALIAS) == [new] and list(server.docs[new]) == ["a"]

    async def test_an_old_index_that_cannot_be_deleted_is_left(self, index: OpenSearchIndex,
                                                               server: FakeServer) -> None:
        server.add_index("projects-old", ALIAS)
        server.failures[("DELETE", "/projects-old")] = (500, _error("internal"))
        assert await index.rebuild(documents(doc("a"))) == 1
        assert server.behind(ALIAS) == [self.new_index(server)] and "projects-old" in server.aliases

    async def test_a_failing_cleanup_keeps_the_first_error(self, index: OpenSearchIndex, server: FakeServer) -> None:
        server.add_index("projects-old", ALIAS)
        server.failures[("GET", "/_alias/projects")] = (500, _error("internal"))  # the check before deleting

        async def broken() -> AsyncIterator[Any]:
            raise RuntimeError("source failed")
            yield

        with pytest.raises(RuntimeError, match="source failed"):
            await index.rebuild(broken())
        assert server.paths()[-1] == "GET /_alias/projects"  # unsure whether the swap happened: nothing deleted
        assert server.behind(ALIAS) == ["projects-old"]
