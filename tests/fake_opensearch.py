"""A FAKE OpenSearch Serverless data plane for the adapter's tests (moto does not emulate it).

It speaks the request and response shapes of the calls OpenSearchChunkStore makes (indices.exists
/ create / get_mapping, bulk, search, count), enforces the rule of VECTORSEARCH collections that
matters most (no custom document ids), and evaluates the query types the adapter sends: term,
terms, prefix, wildcard, match_all, bool (must / filter / must_not / should), multi_match (most_fields, field boosts,
BM25 with the English analysis) and knn (inner product, with a filter). Anything else raises, so
the adapter cannot drift into queries this fake does not check.
"""

from __future__ import annotations

import copy
import fnmatch
import math
import uuid

from ragchat.adapters.local.analyzer import analyze


class FakeIndices:
    def __init__(self, engine: FakeOpenSearch):
        self.engine = engine

    def exists(self, index: str) -> bool:
        return index in self.engine.indexes

    def create(self, index: str, body: dict) -> dict:
        if index in self.engine.indexes:
            raise ValueError(f"resource_already_exists_exception: {index}")
        self.engine.indexes[index] = {"mappings": copy.deepcopy(body.get("mappings", {})), "docs": {}}
        return {"acknowledged": True, "index": index}

    def get_mapping(self, index: str) -> dict:
        return {index: {"mappings": copy.deepcopy(self.engine.indexes[index]["mappings"])}}


class FakeOpenSearch:
    def __init__(self):
        self.indexes: dict[str, dict] = {}
        self.indices = FakeIndices(self)
        self.requests: list[tuple[str, object]] = []

    # -- writes ------------------------------------------------------------------------------
    def bulk(self, body: list[dict]) -> dict:
        self.requests.append(("bulk", body))
        items, errors, i = [], False, 0
        while i < len(body):
            action = body[i]
            (kind, meta), = action.items()
            docs = self.indexes[meta["_index"]]["docs"]
            if kind == "index":
                if "_id" in meta:  # VECTORSEARCH collections refuse client-chosen ids
                    items.append({"index": {"status": 400, "error": {
                        "type": "illegal_argument_exception",
                        "reason": "Document ID is not supported in create/index operation request"}}})
                    errors = True
                else:
                    doc_id = uuid.uuid4().hex[:20]
                    docs[doc_id] = copy.deepcopy(body[i + 1])
                    items.append({"index": {"_index": meta["_index"], "_id": doc_id, "status": 201,
                                            "result": "created"}})
                i += 2
            elif kind == "delete":
                found = docs.pop(meta["_id"], None) is not None
                items.append({"delete": {"_index": meta["_index"], "_id": meta["_id"], "status": 200 if found else 404,
                                         "result": "deleted" if found else "not_found"}})
                i += 1
            else:
                raise ValueError(f"bulk action {kind} is not used by the adapter")
        return {"took": 1, "errors": errors, "items": items}

    def count(self, index: str) -> dict:
        return {"count": len(self.indexes[index]["docs"])}

    # -- queries -----------------------------------------------------------------------------
    def _matches(self, doc: dict, query: dict) -> bool:
        (kind, spec), = query.items()
        if kind == "match_all":
            return True
        if kind == "term":
            (field, value), = spec.items()
            return doc.get(field) == value
        if kind == "terms":
            (field, values), = spec.items()
            return doc.get(field) in values
        if kind == "wildcard":  # Lucene's `*` matches any characters, `/` included, as fnmatch's does
            (field, value), = spec.items()
            return isinstance(doc.get(field), str) and fnmatch.fnmatchcase(doc[field], value)
        if kind == "prefix":
            (field, value), = spec.items()
            return isinstance(doc.get(field), str) and doc[field].startswith(value)
        if kind == "bool":
            unknown = set(spec) - {"must", "filter", "must_not", "should", "minimum_should_match"}
            if unknown:
                raise ValueError(f"bool clauses {unknown} are not used by the adapter")
            if "should" in spec and spec.get("minimum_should_match") != 1:
                raise ValueError("the adapter always states minimum_should_match: 1 with should")
            should = spec.get("should", [])
            return ((not should or any(self._matches(doc, q) for q in should))
                    and all(self._matches(doc, q) for q in spec.get("filter", []))
                    and all(self._matches(doc, q) for q in spec.get("must", []) if "multi_match" not in q)
                    and not any(self._matches(doc, q) for q in spec.get("must_not", [])))
        if kind == "multi_match":
            return True  # scoring decides: a document with no matching term scores 0 and is dropped
        raise ValueError(f"query type {kind} is not used by the adapter")

    def _bm25(self, docs: dict[str, dict], spec: dict) -> dict[str, float]:
        if spec.get("type") != "most_fields":
            raise ValueError("the adapter sends multi_match of type most_fields")
        terms = set(analyze(spec["query"]))
        scores = dict.fromkeys(docs, 0.0)
        for field_spec in spec["fields"]:
            field, _, boost = field_spec.partition("^")
            boost = float(boost or 1)
            analysed = {doc_id: analyze(str(doc.get(field) or "")) for doc_id, doc in docs.items()}
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

    def search(self, index: str, body: dict) -> dict:
        self.requests.append(("search", body))
        unknown = set(body) - {"query", "size", "from", "_source", "sort"}
        if unknown:
            raise ValueError(f"search keys {unknown} are not used by the adapter")
        docs = self.indexes[index]["docs"]
        query = body["query"]
        size, start = body.get("size", 10), body.get("from", 0)
        if "knn" in query:
            (field, spec), = query["knn"].items()
            candidates = {i: d for i, d in docs.items() if "filter" not in spec or self._matches(d, spec["filter"])}
            inner = {i: sum(a * b for a, b in zip(d[field], spec["vector"])) for i, d in candidates.items()}
            scored = {i: (1 + ip if ip >= 0 else 1 / (1 - ip)) for i, ip in inner.items()}
            ranked = sorted(scored, key=lambda i: -scored[i])[: spec["k"]]
        else:
            matching = {i: d for i, d in docs.items() if self._matches(d, query)}
            multi = [q["multi_match"] for q in query.get("bool", {}).get("must", []) if "multi_match" in q]
            scored = self._bm25(matching, multi[0]) if multi else dict.fromkeys(matching, 1.0)
            ranked = sorted(scored, key=lambda i: -scored[i])
            for sort in reversed(body.get("sort", [])):
                (field, order), = sort.items()
                ranked.sort(key=lambda i: docs[i][field], reverse=order["order"] == "desc")
        hits = []
        for doc_id in ranked[start:start + size]:
            source = copy.deepcopy(docs[doc_id])
            selector = body.get("_source", True)
            if selector is False:
                source = None
            elif isinstance(selector, dict):
                for field in selector.get("excludes", []):
                    source.pop(field, None)
            hit = {"_index": index, "_id": doc_id, "_score": scored[doc_id]}
            if source is not None:
                hit["_source"] = source
            hits.append(hit)
        return {"took": 1, "timed_out": False, "hits": {"total": {"value": len(ranked), "relation": "eq"},
                                                        "max_score": hits[0]["_score"] if hits else None, "hits": hits}}
