"""The OpenSearch backend of ``SearchIndex``: the same tiers and filters as the SQL backends.

Why it looks the way it does:

* **Tiers inside one query.** A ``dis_max`` (the best clause wins, tie breaker 0) of one
  clause per tier, each scoring ``tier + a within-tier part in [0, 1)``: exact name
  (``constant_score`` 4000), name prefix (3000 + 1/(1+len), a painless ``script_score``),
  fuzzy name (2000 + similarity x 0.999) and full text (1000 + r/(r+100), r the weighted
  BM25).  The engine then sorts, counts and pages exactly as ``ORDER BY score DESC, name``
  does in SQL, so paging and totals need nothing client-side.  Scores are float32 in the
  engine: about four decimal places of the within-tier part survive; ties go by name.
* **Fuzzy names use the SQL backends' trigrams.** ``name_trigrams`` (padded "  name ") and
  their count are computed here and stored as a keyword field; the query asks for each of
  the query's trigrams as a ``constant_score`` 1 clause, so ``_score`` is the number shared,
  and the similarity shared / (query + name - shared) is pg_trgm's, with the same
  threshold (``min_score`` drops the rest).  An ngram analyser would split differently
  from the other backends and cannot give the per-name trigram count.
* **Text is words-as-prefixes, like FTS5 ``word*`` and tsquery ``:*``.** One ``words``
  tokenizer (a ``pattern`` split on ``[^\\p{L}\\p{N}]+``, the engine's spelling of
  ``parse_query``'s ``[^\\W_]+``), edge n-grams (1-20) at index time, the plain word
  (cut to 20) at query time: every word must match one of name, summary, keywords,
  description, boosted 1000/100/10/1.  Only built-in analysis components: no plugins.
* **No user syntax reaches the engine.** ``parse_query`` reduces input to words; they are
  sent only as ``term``/``terms``/``prefix``/``match`` values, never ``query_string``,
  and the painless sources are constants whose inputs are ``params``.
* **Classifiers**: a ``keyword`` field with every classifier and each of its parents
  (``classifier_paths``), so a ``term`` filter matches a classifier and everything below it.
* **Rebuilds swap an alias.** Searches and writes go through ``alias``; ``rebuild`` loads
  ``<alias>-<timestamp>``, then one ``_aliases`` call moves the alias (atomic for readers),
  then the old indices are deleted.  A failed rebuild deletes its new index and leaves
  the alias alone.  Writes use ``require_alias`` so that a missing alias can never make
  the engine auto-create a concrete index under the alias's name.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import structlog
from opensearchpy import AsyncOpenSearch, NotFoundError, RequestError
from opensearchpy.helpers import async_bulk

from shared.names import normalize_name
from shared.search.base import (
    FUZZY_THRESHOLD,
    TIER_EXACT,
    TIER_FUZZY,
    TIER_PREFIX,
    TIER_TEXT,
    ParsedQuery,
    SearchDocument,
    SearchHit,
    SearchResults,
    TOTAL_CAP,
    SortOrder,
    check_paging,
    classifier_paths,
    indexable_description,
    name_trigrams,
    parse_query,
)

log = structlog.get_logger()

REBUILD_BATCH = 500
MAX_RESULT_WINDOW = 10_000  # the engine's default index.max_result_window: from + size beyond it is refused
PREFIX_GRAMS = 20
TEXT_SCALE = 100.0  # r / (r + 100): a summary-weighted match lands mid-tier, a name match near its top
FIELD_BOOSTS = {"name.words": 1000, "summary": 100, "keywords": 10, "description": 1}
HIT_FIELDS = ["name", "display_name", "version", "summary", "updated"]

PREFIX_SCRIPT = "params.tier + 1.0 / (1 + doc['name'].value.length())"
FUZZY_SCRIPT = (
    "double shared = _score; "
    "double similarity = shared / (params.query_trigrams + doc['name_trigram_count'].value - shared); "
    "return similarity >= params.threshold ? params.tier + similarity * 0.999 : 0.0;"
)
TEXT_SCRIPT = "params.tier + Math.min(0.999, _score / (_score + params.scale))"

_TEXT = {"type": "text", "analyzer": "word_prefixes", "search_analyzer": "word_search"}
_STORED_ONLY = {"type": "keyword", "index": False, "doc_values": False}


def index_body(*, refresh_interval: str | None = None) -> dict[str, Any]:
    """Settings and mapping of every concrete index behind the alias."""
    index: dict[str, Any] = {"number_of_shards": 1}  # one shard: BM25 statistics are the whole corpus's
    if refresh_interval is not None:
        index["refresh_interval"] = refresh_interval
    return {
        "settings": {
            "index": index,
            "analysis": {
                "tokenizer": {"words": {"type": "pattern", "pattern": r"[^\p{L}\p{N}]+"}},
                "filter": {
                    "word_prefixes": {"type": "edge_ngram", "min_gram": 1, "max_gram": PREFIX_GRAMS},
                    "word_cut": {"type": "truncate", "length": PREFIX_GRAMS},
                },
                "analyzer": {
                    "word_prefixes": {"type": "custom", "tokenizer": "words", "filter": ["lowercase", "word_prefixes"]},
                    "word_search": {"type": "custom", "tokenizer": "words", "filter": ["lowercase", "word_cut"]},
                },
            },
        },
        "mappings": {
            "dynamic": "strict",
            "_source": {"excludes": ["description"]},  # up to 64 KiB a project, and never returned
            "properties": {
                "name": {"type": "keyword", "fields": {"words": _TEXT}},
                "name_trigrams": {"type": "keyword"},
                "name_trigram_count": {"type": "integer"},
                "display_name": _STORED_ONLY,
                "version": _STORED_ONLY,
                "summary": _TEXT,
                "keywords": _TEXT,
                "description": _TEXT,
                "classifiers": _STORED_ONLY,
                "classifier_paths": {"type": "keyword"},
                "updated": {"type": "date"},
            },
        },
    }


def document_source(document: SearchDocument) -> dict[str, Any]:
    name = normalize_name(document.name)
    trigrams = name_trigrams(name)
    return {
        "name": name, "name_trigrams": list(trigrams), "name_trigram_count": len(trigrams),
        "display_name": document.display_name, "version": document.version, "summary": document.summary,
        "keywords": document.keywords, "description": indexable_description(document.description),
        "classifiers": list(document.classifiers),
        "classifier_paths": [path for path in classifier_paths(document.classifiers).split("\n") if path],
        "updated": document.updated.isoformat(),
    }


def _script_score(query: dict[str, Any], source: str, **params: float) -> dict[str, Any]:
    return {"function_score": {"query": query, "boost_mode": "replace",
                               "script_score": {"script": {"source": source, "params": params}}}}


def tier_queries(parsed: ParsedQuery) -> list[dict[str, Any]]:
    """One clause per tier; a document's score is its best clause's."""
    exact = [name for name in dict.fromkeys(parsed.exact_names) if name]
    tiers: list[dict[str, Any]] = [
        {"constant_score": {"filter": {"terms": {"name": exact}}, "boost": TIER_EXACT}},
        _script_score({"prefix": {"name": {"value": parsed.name_key}}}, PREFIX_SCRIPT, tier=TIER_PREFIX),
    ]
    if parsed.fuzzy:
        trigrams = name_trigrams(parsed.name_key)
        shared = {"bool": {"minimum_should_match": 1, "should": [
            {"constant_score": {"filter": {"term": {"name_trigrams": trigram}}, "boost": 1.0}} for trigram in trigrams
        ]}}
        fuzzy = _script_score(shared, FUZZY_SCRIPT, tier=TIER_FUZZY, threshold=FUZZY_THRESHOLD,
                              query_trigrams=len(trigrams))
        fuzzy["function_score"]["min_score"] = TIER_FUZZY
        tiers.append(fuzzy)
    fields = [f"{field}^{boost}" for field, boost in FIELD_BOOSTS.items()]
    every_word = {"bool": {"must": [
        {"multi_match": {"query": word, "type": "most_fields", "fields": fields}} for word in parsed.words
    ]}}
    tiers.append(_script_score(every_word, TEXT_SCRIPT, tier=TIER_TEXT, scale=TEXT_SCALE))
    return tiers


def search_body(parsed: ParsedQuery, *, offset: int, limit: int, sort: SortOrder) -> dict[str, Any]:
    filters = [{"term": {"classifier_paths": needle.strip("\n")}} for needle in parsed.classifiers]
    query: dict[str, Any] = {"bool": {"filter": filters}}
    if parsed.words:
        query["bool"]["must"] = [{"dis_max": {"queries": tier_queries(parsed), "tie_breaker": 0.0}}]
    first = min(offset, MAX_RESULT_WINDOW)
    order = {"relevance": [{"_score": "desc"}, {"name": "asc"}], "-updated": [{"updated": "desc"}, {"name": "asc"}]}
    return {
        "query": query, "sort": order[sort], "track_scores": True, "track_total_hits": TOTAL_CAP,
        "from": first, "size": max(0, min(limit, MAX_RESULT_WINDOW - first)), "_source": HIT_FIELDS,
    }


def _hit(hit: dict[str, Any]) -> SearchHit:
    source = hit["_source"]
    return SearchHit(name=source["name"], display_name=source["display_name"], version=source["version"],
                     summary=source["summary"], updated=datetime.fromisoformat(source["updated"]),
                     score=float(hit.get("_score") or 0.0))


def client_url(url: str) -> str:
    """``opensearch://`` (the settings' adapter scheme) means plain HTTP; http(s) URLs pass unchanged."""
    parts = urlsplit(url)
    if parts.scheme == "opensearch":
        return urlunsplit(parts._replace(scheme="http"))
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"an OpenSearch URL is http://, https:// or opensearch://, not {parts.scheme}://")
    return url


class OpenSearchIndex:
    def __init__(self, url: str, alias: str, *, client: AsyncOpenSearch | None = None,
                 refresh: bool | Literal["wait_for"] = True, batch_size: int = REBUILD_BATCH) -> None:
        """``refresh=True`` makes a write searchable when it returns, as a SQL commit is;
        ``"wait_for"`` or ``False`` trade that for fewer refreshes under heavy writing."""
        self.alias = alias
        self.refresh = refresh
        self.batch_size = batch_size
        self._owns_client = client is None
        self.client = client if client is not None else AsyncOpenSearch(hosts=[client_url(url)])
        self._alias_known = False

    async def upsert(self, document: SearchDocument) -> None:
        source = document_source(document)
        await self._ensure_alias()
        try:
            await self.client.index(index=self.alias, id=source["name"], body=source, refresh=self.refresh,
                                    require_alias=True)
        except NotFoundError:
            self._alias_known = False  # the alias went away: the next write creates it again
            raise

    async def delete(self, name: str) -> None:
        await self._ensure_alias()
        try:
            await self.client.delete(index=self.alias, id=normalize_name(name), refresh=self.refresh)
        except NotFoundError:
            pass  # absent, as the SQL DELETE of no row

    async def _ensure_alias(self) -> None:
        """On first write, create ``<alias>-initial`` behind the alias if no index is behind it.

        A fixed name, not a timestamp: two processes starting at once create one index, and
        the loser's "already exists" is success."""
        if self._alias_known:
            return
        if not await self.client.indices.exists_alias(name=self.alias):
            try:
                await self.client.indices.create(index=f"{self.alias}-initial",
                                                  body={**index_body(), "aliases": {self.alias: {}}})
            except RequestError as error:
                if error.error != "resource_already_exists_exception":
                    raise
        self._alias_known = True

    async def search(
        self,
        query: str,
        *,
        classifiers: Sequence[str] = (),
        offset: int = 0,
        limit: int = 20,
        sort: SortOrder = "relevance",
    ) -> SearchResults:
        check_paging(offset=offset, limit=limit)
        parsed = parse_query(query, classifiers)
        if parsed.is_empty:
            return SearchResults(hits=[], total=0)
        body = search_body(parsed, offset=offset, limit=limit, sort=sort)
        try:
            response = await self.client.search(index=self.alias, body=body)
        except NotFoundError:
            return SearchResults(hits=[], total=0)  # nothing indexed yet
        hits = response["hits"]
        return SearchResults(hits=[_hit(hit) for hit in hits["hits"]], total=hits["total"]["value"])

    async def rebuild(self, documents: AsyncIterable[SearchDocument]) -> int:
        """Load a new index, swap the alias onto it in one call, then drop the old ones."""
        new = f"{self.alias}-{datetime.now(UTC):%Y%m%d%H%M%S%f}"
        await self.client.indices.create(index=new, body=index_body(refresh_interval="-1"))
        try:
            await async_bulk(self.client, self._actions(new, documents), chunk_size=self.batch_size)
            await self.client.indices.put_settings(index=new, body={"index": {"refresh_interval": None}})
            await self.client.indices.refresh(index=new)
            count = (await self.client.count(index=new))["count"]
            old = await self._aliased()
            swap = [*({"remove": {"index": index, "alias": self.alias}} for index in old),
                    {"add": {"index": new, "alias": self.alias}}]
            await self.client.indices.update_aliases(body={"actions": swap})
        except BaseException:
            await self._discard(new)
            raise
        self._alias_known = True
        if old:
            try:
                await self.client.indices.delete(index=",".join(old))
            except Exception as error:  # the swap is done; a leftover index only costs disk
                log.warning("search_old_index_not_deleted", indices=old, error=str(error))
        return int(count)

    async def _actions(self, index: str, documents: AsyncIterable[SearchDocument]) -> AsyncIterator[dict[str, Any]]:
        async for document in documents:
            source = document_source(document)  # a name twice: the later document wins, as with upsert
            yield {"_op_type": "index", "_index": index, "_id": source["name"], "_source": source}

    async def _aliased(self) -> list[str]:
        try:
            return sorted(await self.client.indices.get_alias(name=self.alias))
        except NotFoundError:
            return []

    async def _discard(self, new: str) -> None:
        """Delete a failed rebuild's index, unless the alias swap did happen (a timeout after
        the engine applied it): deleting it then would take the alias with it."""
        try:
            if new not in await self._aliased():
                await self.client.indices.delete(index=new)
        except Exception as error:
            log.warning("search_rebuild_index_not_deleted", index=new, error=str(error))

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.close()
