"""A FAKE OpenSearch Serverless vector-collection data plane (moto does not emulate it).

`FakeOpenSearchEngine` holds the indexes and enforces what the service enforces (see
docs/aws.md for the pages):
- no client-chosen document ids on index (VECTORSEARCH collections): a 400 item error;
- no `_refresh`: a written document becomes searchable `visibility_delay` seconds after the
  write, and a deleted one leaves search results only after the same delay;
- `from` + `size` at most 10,000 (`index.max_result_window`): a 400 `illegal_argument_exception`;
  deeper paging is point in time + `search_after`;
- a new index is not queryable for `index_ready_delay` seconds: 404 `index_not_found_exception`;
  creating an index that exists: 400 `resource_already_exists_exception`;
- a bulk body over 10 MiB: 413; `throttle(n)`: the next n requests answer 429.
Its clock is injectable, so tests advance time instead of sleeping.

Two faces speak to it: `FakeOpenSearch`, an in-process stand-in for the opensearch-py client
(raising opensearch-py's own exceptions), and tests/fake_services/opensearch_http.py, the same
engine behind real HTTP for the rehearsal of the built stack. It evaluates the query types the
adapter sends (term, terms, prefix, wildcard, range, match_all, bool, multi_match most_fields with
BM25 over the English analysis, knn with a filter) and raises on anything else, so the adapter
cannot drift into queries this fake does not check.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import math
import operator
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from ragchat.adapters.local.analyzer import analyze

MAX_RESULT_WINDOW = 10_000
_RANGE = {"lt": operator.lt, "lte": operator.le, "gt": operator.gt, "gte": operator.ge}
MAX_BULK_BYTES = 10 * 1024 * 1024


class EngineError(Exception):
    """An error the service answers with: HTTP status, error type, reason."""

    def __init__(self, status: int, kind: str, reason: str):
        super().__init__(f"{status} {kind}: {reason}")
        self.status, self.kind, self.reason = status, kind, reason

    def body(self) -> dict:
        return {"error": {"type": self.kind, "reason": self.reason, "root_cause": [
            {"type": self.kind, "reason": self.reason}]}, "status": self.status}


@dataclass
class _Doc:
    source: dict
    visible_at: float
    deleted_at: float | None = None


@dataclass
class _Index:
    mappings: dict
    ready_at: float
    docs: dict[str, _Doc] = field(default_factory=dict)


@dataclass
class _Pit:
    index: str
    docs: dict[str, dict]  # _id -> source, as searchable when the PIT was created
    expires_at: float


def _keep_alive_seconds(value: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    for unit in ("ms", "s", "m", "h", "d"):
        if value.endswith(unit) and value[:-len(unit)].isdigit():
            return int(value[:-len(unit)]) * units[unit]
    raise EngineError(400, "illegal_argument_exception", f"failed to parse keep_alive [{value}]")


class FakeOpenSearchEngine:
    def __init__(self, visibility_delay: float = 0.0, index_ready_delay: float = 0.0,
                 clock: Callable[[], float] = time.monotonic):
        self.visibility_delay = visibility_delay
        self.index_ready_delay = index_ready_delay
        self.clock = clock
        self.indexes: dict[str, _Index] = {}
        self.pits: dict[str, _Pit] = {}
        self.requests: list[tuple[str, object]] = []
        self._throttle = 0
        self._lock = threading.RLock()

    # -- service behaviour switches --------------------------------------------------------
    def throttle(self, requests: int) -> None:
        """The next `requests` requests answer 429 (too many requests)."""
        self._throttle = requests

    def _admit(self, kind: str, payload: object) -> None:
        self.requests.append((kind, payload))
        if self._throttle > 0:
            self._throttle -= 1
            raise EngineError(429, "too_many_requests", "rate of requests exceeded; slow down")

    def _ready(self, name: str) -> _Index:
        index = self.indexes.get(name)
        if index is None or self.clock() < index.ready_at:
            raise EngineError(404, "index_not_found_exception", f"no such index [{name}]")
        return index

    def _searchable(self, doc: _Doc, now: float) -> bool:
        if now < doc.visible_at:
            return False
        return doc.deleted_at is None or now < doc.deleted_at + self.visibility_delay

    # -- indexes -----------------------------------------------------------------------------
    def index_exists(self, name: str) -> bool:
        with self._lock:
            self._admit("exists", name)
            return name in self.indexes

    def create_index(self, name: str, body: dict) -> dict:
        with self._lock:
            self._admit("create", name)
            if name in self.indexes:
                raise EngineError(400, "resource_already_exists_exception", f"index [{name}] already exists")
            self.indexes[name] = _Index(copy.deepcopy(body.get("mappings", {})),
                                        ready_at=self.clock() + self.index_ready_delay)
            return {"acknowledged": True, "shards_acknowledged": True, "index": name}

    def get_mapping(self, name: str) -> dict:
        with self._lock:
            self._admit("get_mapping", name)
            return {name: {"mappings": copy.deepcopy(self._ready(name).mappings)}}

    # -- writes ------------------------------------------------------------------------------
    def bulk(self, actions: list[dict], size_bytes: int | None = None) -> dict:
        with self._lock:
            self._admit("bulk", actions)
            if size_bytes is None:
                size_bytes = sum(len(json.dumps(a)) + 1 for a in actions)
            if size_bytes > MAX_BULK_BYTES:
                raise EngineError(413, "request_entity_too_large", f"bulk body of {size_bytes} bytes")
            now, items, errors, i = self.clock(), [], False, 0
            while i < len(actions):
                (kind, meta), = actions[i].items()
                index = self._ready(meta["_index"])
                if kind in ("index", "create"):
                    if "_id" in meta:  # VECTORSEARCH collections refuse client-chosen ids
                        items.append({kind: {"_index": meta["_index"], "status": 400, "error": {
                            "type": "illegal_argument_exception",
                            "reason": "Document ID is not supported in create/index operation request"}}})
                        errors = True
                    else:
                        doc_id = uuid.uuid4().hex[:20]
                        index.docs[doc_id] = _Doc(copy.deepcopy(actions[i + 1]), now + self.visibility_delay)
                        items.append({kind: {"_index": meta["_index"], "_id": doc_id, "status": 201,
                                             "result": "created"}})
                    i += 2
                elif kind == "delete":
                    doc = index.docs.get(meta["_id"])
                    found = doc is not None and doc.deleted_at is None
                    if found:
                        doc.deleted_at = now
                    items.append({"delete": {"_index": meta["_index"], "_id": meta["_id"],
                                             "status": 200 if found else 404,
                                             "result": "deleted" if found else "not_found"}})
                    i += 1
                else:
                    raise EngineError(400, "illegal_argument_exception", f"bulk action {kind} is not used")
            self._forget_deleted(now)
            return {"took": 1, "errors": errors, "items": items}

    def _forget_deleted(self, now: float) -> None:
        for index in self.indexes.values():
            gone = [i for i, d in index.docs.items()
                    if d.deleted_at is not None and now >= d.deleted_at + self.visibility_delay]
            for doc_id in gone:
                del index.docs[doc_id]

    def count(self, name: str) -> dict:
        with self._lock:
            self._admit("count", name)
            now = self.clock()
            return {"count": sum(1 for d in self._ready(name).docs.values() if self._searchable(d, now))}

    # -- point in time -----------------------------------------------------------------------
    def create_pit(self, name: str, keep_alive: str) -> dict:
        with self._lock:
            self._admit("create_pit", name)
            now = self.clock()
            docs = {i: d.source for i, d in self._ready(name).docs.items() if self._searchable(d, now)}
            pit_id = uuid.uuid4().hex
            self.pits[pit_id] = _Pit(name, docs, now + _keep_alive_seconds(keep_alive))
            return {"pit_id": pit_id, "_shards": {"total": 1, "successful": 1, "failed": 0}, "creation_time": now}

    def delete_pit(self, pit_ids: list[str]) -> dict:
        with self._lock:
            self._admit("delete_pit", pit_ids)
            return {"pits": [{"pit_id": p, "successful": self.pits.pop(p, None) is not None} for p in pit_ids]}

    # -- search ------------------------------------------------------------------------------
    def search(self, name: str | None, body: dict) -> dict:
        with self._lock:
            self._admit("search", body)
            unknown = set(body) - {"query", "size", "from", "_source", "sort", "pit", "search_after"}
            if unknown:
                raise EngineError(400, "parsing_exception", f"search keys {unknown} are not used by the adapter")
            size, start = body.get("size", 10), body.get("from", 0)
            if start + size > MAX_RESULT_WINDOW:
                raise EngineError(400, "illegal_argument_exception",
                                  f"Result window is too large, from + size must be less than or equal to: "
                                  f"[{MAX_RESULT_WINDOW}] but was [{start + size}]")
            docs, index_name = self._search_source(name, body)
            query = body.get("query", {"match_all": {}})
            if "knn" in query:
                ranked, scores = self._knn(docs, query["knn"])
            else:
                ranked, scores = self._match(docs, query)
            sort = body.get("sort", [])
            if sort:
                ranked.sort(key=lambda i: self._sort_key(docs[i], sort))
                if "search_after" in body:
                    after = tuple(body["search_after"])
                    ranked = [i for i in ranked if self._sort_values(docs[i], sort) > after]
            elif "search_after" in body:
                raise EngineError(400, "illegal_argument_exception", "search_after needs a sort")
            hits = [self._hit(index_name, i, docs[i], scores[i], body, sort) for i in ranked[start:start + size]]
            response = {"took": 1, "timed_out": False, "hits": {
                "total": {"value": len(ranked), "relation": "eq"},
                "max_score": hits[0]["_score"] if hits else None, "hits": hits}}
            if "pit" in body:
                response["pit_id"] = body["pit"]["id"]
            return response

    def _search_source(self, name: str | None, body: dict) -> tuple[dict[str, dict], str]:
        if "pit" in body:
            if name:
                raise EngineError(400, "illegal_argument_exception", "[indices] cannot be used with point in time")
            pit = self.pits.get(body["pit"]["id"])
            if pit is None or self.clock() > pit.expires_at:
                raise EngineError(404, "search_context_missing_exception", "No search context found for id")
            pit.expires_at = self.clock() + _keep_alive_seconds(body["pit"].get("keep_alive", "1m"))
            return pit.docs, pit.index
        now = self.clock()
        return {i: d.source for i, d in self._ready(name).docs.items() if self._searchable(d, now)}, name

    @staticmethod
    def _sort_values(source: dict, sort: list) -> tuple:
        values = []
        for spec in sort:
            (name, order), = spec.items()
            direction = order["order"] if isinstance(order, dict) else order
            value = source.get(name)
            if isinstance(value, str) and direction == "desc":
                raise EngineError(400, "illegal_argument_exception", "the fake sorts strings ascending only")
            values.append(-value if direction == "desc" else value)
        return tuple(values)

    def _sort_key(self, source: dict, sort: list) -> tuple:
        values = self._sort_values(source, sort)
        if any(v is None for v in values):
            raise EngineError(400, "illegal_argument_exception", f"a sort field is missing in {sorted(source)}")
        return values

    @staticmethod
    def _hit(index: str, doc_id: str, source: dict, score: float, body: dict, sort: list) -> dict:
        selector = body.get("_source", True)
        hit: dict = {"_index": index, "_id": doc_id, "_score": score}
        if selector is not False:
            shown = copy.deepcopy(source)
            for name in (selector.get("excludes", []) if isinstance(selector, dict) else []):
                shown.pop(name, None)
            hit["_source"] = shown
        if sort:
            hit["sort"] = [source.get(next(iter(spec))) for spec in sort]
        return hit

    def _knn(self, docs: dict[str, dict], knn: dict) -> tuple[list[str], dict[str, float]]:
        (name, spec), = knn.items()
        candidates = {i: d for i, d in docs.items() if "filter" not in spec or self._matches(d, spec["filter"])}
        inner = {i: sum(a * b for a, b in zip(d[name], spec["vector"])) for i, d in candidates.items()}
        scores = {i: (1 + ip if ip >= 0 else 1 / (1 - ip)) for i, ip in inner.items()}
        return sorted(scores, key=lambda i: -scores[i])[: spec["k"]], scores

    def _match(self, docs: dict[str, dict], query: dict) -> tuple[list[str], dict[str, float]]:
        matching = {i: d for i, d in docs.items() if self._matches(d, query)}
        multi = [q["multi_match"] for q in query.get("bool", {}).get("must", []) if "multi_match" in q]
        scores = self._bm25(matching, multi[0]) if multi else dict.fromkeys(matching, 1.0)
        return sorted(scores, key=lambda i: -scores[i]), scores

    def _matches(self, doc: dict, query: dict) -> bool:
        (kind, spec), = query.items()
        if kind == "match_all":
            return True
        if kind == "multi_match":
            return True  # scoring decides: a document with no matching term scores 0 and is dropped
        if kind == "bool":
            return self._bool(doc, spec)
        (name, value), = spec.items()
        found = doc.get(name)
        if kind == "term":
            return found == value
        if kind == "terms":
            return found in value
        if kind == "wildcard":  # Lucene's `*` matches any characters, `/` included, as fnmatch's does
            return isinstance(found, str) and fnmatch.fnmatchcase(found, value)
        if kind == "prefix":
            return isinstance(found, str) and found.startswith(value)
        if kind == "range":
            return found is not None and all(self._compare(found, op, bound) for op, bound in value.items())
        raise EngineError(400, "parsing_exception", f"query type {kind} is not used by the adapter")

    @staticmethod
    def _compare(found, op: str, bound) -> bool:
        if op not in _RANGE:
            raise EngineError(400, "parsing_exception", f"range operator {op}")
        return _RANGE[op](found, bound)

    def _bool(self, doc: dict, spec: dict) -> bool:
        unknown = set(spec) - {"must", "filter", "must_not", "should", "minimum_should_match"}
        if unknown:
            raise EngineError(400, "parsing_exception", f"bool clauses {unknown} are not used by the adapter")
        if "should" in spec and spec.get("minimum_should_match") != 1:
            raise EngineError(400, "parsing_exception", "the adapter always states minimum_should_match: 1")
        should = spec.get("should", [])
        return ((not should or any(self._matches(doc, q) for q in should))
                and all(self._matches(doc, q) for q in spec.get("filter", []))
                and all(self._matches(doc, q) for q in spec.get("must", []) if "multi_match" not in q)
                and not any(self._matches(doc, q) for q in spec.get("must_not", [])))

    @staticmethod
    def _bm25(docs: dict[str, dict], spec: dict) -> dict[str, float]:
        if spec.get("type") != "most_fields":
            raise EngineError(400, "parsing_exception", "the adapter sends multi_match of type most_fields")
        terms = set(analyze(spec["query"]))
        scores = dict.fromkeys(docs, 0.0)
        for field_spec in spec["fields"]:
            name, _, boost = field_spec.partition("^")
            boost = float(boost or 1)
            analysed = {doc_id: analyze(str(doc.get(name) or "")) for doc_id, doc in docs.items()}
            average = sum(len(a) for a in analysed.values()) / max(len(analysed), 1) or 1
            for term in terms:
                df = sum(1 for a in analysed.values() if term in a)
                if not df:
                    continue
                idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
                for doc_id, tokens in analysed.items():
                    tf = tokens.count(term)
                    if tf:
                        scores[doc_id] += boost * idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * len(tokens) / average))
        return {doc_id: s for doc_id, s in scores.items() if s > 0}


# -- the in-process face: what opensearch-py's client offers, raising its exceptions ------------
def _raise_as_client(error: EngineError):
    from opensearchpy.exceptions import HTTP_EXCEPTIONS, TransportError

    raise HTTP_EXCEPTIONS.get(error.status, TransportError)(error.status, error.kind, error.body()) from None


class _FakeIndices:
    def __init__(self, engine: FakeOpenSearchEngine):
        self.engine = engine

    def exists(self, index: str) -> bool:
        try:
            return self.engine.index_exists(index)
        except EngineError as error:
            _raise_as_client(error)

    def create(self, index: str, body: dict) -> dict:
        try:
            return self.engine.create_index(index, body)
        except EngineError as error:
            _raise_as_client(error)

    def get_mapping(self, index: str) -> dict:
        try:
            return self.engine.get_mapping(index)
        except EngineError as error:
            _raise_as_client(error)

    def refresh(self, index: str | None = None, **_) -> dict:
        raise AssertionError("OpenSearch Serverless has no _refresh: the adapter must not call it")


class FakeOpenSearch:
    """A FAKE opensearch-py client over a FakeOpenSearchEngine (a fresh one by default)."""

    def __init__(self, engine: FakeOpenSearchEngine | None = None):
        self.engine = engine or FakeOpenSearchEngine()
        self.indices = _FakeIndices(self.engine)

    @property
    def requests(self) -> list:
        return self.engine.requests

    def _call(self, method, *args):
        try:
            return method(*args)
        except EngineError as error:
            _raise_as_client(error)

    def bulk(self, body, **_) -> dict:
        if isinstance(body, str):
            size, body = len(body.encode()), [json.loads(line) for line in body.splitlines() if line]
        else:
            size = None
        return self._call(self.engine.bulk, body, size)

    def count(self, index: str, **_) -> dict:
        return self._call(self.engine.count, index)

    def search(self, body: dict, index: str | None = None, **_) -> dict:
        return self._call(self.engine.search, index, body)

    def create_pit(self, index: str, params: dict | None = None, **_) -> dict:
        return self._call(self.engine.create_pit, index, (params or {}).get("keep_alive", ""))

    def delete_pit(self, body: dict, **_) -> dict:
        return self._call(self.engine.delete_pit, body["pit_id"])
