"""OpenSearch Serverless (VECTORSEARCH collection) for chunks, DynamoDB for document records.

What the service is like, and what that makes this adapter do (docs/aws.md cites the pages):
- A vector collection takes no client-chosen document ids and no upserts, and there is no
  `_refresh`: a write becomes searchable after a delay (60 s on classic collections), and so does
  a delete. So chunks cannot be replaced in place. Each write of a document indexes its chunks
  tagged with a fresh `generation` (and the write's `order` and time), then commits the record in
  DynamoDB (ragchat/adapters/aws/dynamodb_documents.py) only if no newer write stands. A write that
  loses removes the chunks it indexed (by the ids the bulk answered). The winner sweeps the chunks
  of every generation that can no longer become current, and a delayed sweep (scheduled by
  `schedule_sweep` when chunks are indexed) removes what was not yet visible to search, or what a
  crashed write left behind.
- Searches keep only the chunks of each document's current generation, so a chunk left over by a
  race never reaches ranking, a prompt or a citation, even before the sweep removes it.
- `from` + `size` stops at 10,000 hits: every listing pages with a point in time and
  `search_after`, sorted on fields unique per chunk.
- A new index is not queryable at once, and two first writers race to create it: creation
  accepts "already exists", waits until the index answers, and a search of an index that is not
  there yet finds nothing.
- 429s (too many requests) are retried with backoff; bulk bodies are cut to stay far below the
  service's request size limit.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from ragchat.access import PRIVATE_ROOT, is_visitor, private_prefix
from ragchat.domain import Chunk, DocumentRecord, Filters, ScoredChunk
from ragchat.errors import EmbeddingSpaceMismatch, StoreError

log = logging.getLogger(__name__)

PAGE = 1000
BULK_BYTES = 4 * 1024 * 1024  # far below the service's request limit (10 MiB seen on other endpoints)
PIT_KEEP_ALIVE = "2m"
READY_WAIT_S = 120  # how long a new index may take to answer
RETRIES = 6
CHUNK_FIELDS = ("chunk_id", "doc_id", "position", "text", "title", "heading_path", "page", "token_count", "path",
                "uri", "doc_type", "url")
CHUNK_ORDER = [{"chunk_id": "asc"}, {"generation": "asc"}]  # unique per chunk: a cursor for search_after


def chunks_mapping(dimension: int) -> dict:
    """The index body of chunks_index.json (beside this module) with the embedding dimension filled in.
    (The embedding model is recorded with the document records, not in the index.)"""
    body = json.loads((Path(__file__).parent / "chunks_index.json").read_text())
    body["mappings"]["properties"]["vector"]["dimension"] = dimension
    return body


def cosine_from_score(score: float) -> float:
    """OpenSearch's innerproduct score back to the inner product (= cosine for unit vectors)."""
    return score - 1 if score >= 1 else 1 - 1 / score


def _filter_clauses(filters: Filters | None) -> list[dict]:
    if filters is None or filters.is_empty:
        return []
    clauses: list[dict] = []
    if filters.path_prefix:
        clauses.append({"prefix": {"path": filters.path_prefix}})
    if filters.doc_types:
        clauses.append({"terms": {"doc_type": list(filters.doc_types)}})
    if filters.doc_ids:
        clauses.append({"terms": {"doc_id": list(filters.doc_ids)}})
    if filters.visible_to:  # the shared library, and a signed-in user's own uploads (ragchat/access.py)
        visible = [
            {"bool": {"must_not": [{"prefix": {"path": PRIVATE_ROOT}}]}},
            {"bool": {"filter": [{"prefix": {"path": PRIVATE_ROOT}}],  # directly in uploads/: no owner
                      "must_not": [{"wildcard": {"path": f"{PRIVATE_ROOT}*/*"}}]}},
        ]
        if not is_visitor(filters.visible_to):
            visible.append({"prefix": {"path": private_prefix(filters.visible_to)}})
        clauses.append({"bool": {"should": visible, "minimum_should_match": 1}})
    return clauses


def _status(error: Exception) -> int | None:
    status = getattr(error, "status_code", None)
    return status if isinstance(status, int) else None


def _error_type(error: Exception) -> str:
    return str(getattr(error, "error", "") or "")


class OpenSearchChunkStore:
    def __init__(self, client, records, prefix: str = "ragchat",
                 schedule_sweep: Callable[[str], None] | None = None, sweep_after_s: float = 900.0,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep):
        """`client`: an OpenSearch client, or a function that makes one on first use (what only
        lists documents never loads opensearch-py). `records`: the document records
        (DynamoDbDocumentRecords). `schedule_sweep(doc_id)` asks for `sweep(doc_id)` once
        `sweep_after_s` have passed (longer than any write may take); without it, only the sweeps
        after each write run."""
        self._client, self._connect = (None, client) if callable(client) else (client, None)
        self.records = records
        self.chunks_index = f"{prefix}-chunks"
        self.schedule_sweep = schedule_sweep
        self.sweep_after_s = sweep_after_s
        self.clock, self.sleep = clock, sleep

    @classmethod
    def for_collection(cls, endpoint: str, region: str, records, prefix: str = "ragchat", **options):
        """A client for an OpenSearch Serverless collection endpoint, signed with SigV4 for `aoss`."""
        from urllib.parse import urlsplit

        url = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        secure = url.scheme == "https"

        def connect():
            import boto3
            from opensearchpy import AWSV4SignerAuth, OpenSearch, RequestsHttpConnection

            return OpenSearch(hosts=[{"host": url.hostname, "port": url.port or (443 if secure else 80)}],
                              http_auth=AWSV4SignerAuth(boto3.Session().get_credentials(), region, "aoss"),
                              use_ssl=secure, verify_certs=secure, connection_class=RequestsHttpConnection,
                              timeout=30, max_retries=3, retry_on_timeout=True)

        return cls(connect, records, prefix, **options)

    @property
    def client(self):
        if self._client is None:
            self._client = self._connect()
        return self._client

    # -- requests ----------------------------------------------------------------------------
    def _call(self, method, *args, **kwargs):
        """One request, retried with backoff while the service answers 429 (too many requests)."""
        for attempt in range(RETRIES):
            try:
                return method(*args, **kwargs)
            except Exception as error:
                if _status(error) != 429 or attempt == RETRIES - 1:
                    raise
                self.sleep(min(8.0, 0.25 * 2 ** attempt))
        raise AssertionError("unreachable")

    def _search(self, body: dict, index: str | None = None) -> dict:
        """A search; an index that does not exist (yet) has no hits."""
        try:
            return self._call(self.client.search, body=body, **({"index": index} if index else {}))
        except Exception as error:
            if _status(error) == 404 and "index_not_found" in _error_type(error):
                return {"hits": {"hits": []}}
            raise

    def _bulk(self, actions: list[dict]) -> list[dict]:
        if not actions:
            return []
        response = self._call(self.client.bulk, body=actions)
        if response.get("errors"):
            failed = [item for item in response["items"] if next(iter(item.values())).get("error")]
            raise StoreError(f"OpenSearch bulk request failed for {len(failed)} items: {failed[:1]}")
        return response["items"]

    def _delete_ids(self, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), PAGE):
            self._bulk([{"delete": {"_index": self.chunks_index, "_id": i}} for i in ids[start:start + PAGE]])

    def _all_hits(self, query: dict, sort: list, source=True) -> Iterator[dict]:
        """Every hit of a query, page by page through a point in time (past the 10,000-hit window)."""
        try:
            pit = self._call(self.client.create_pit, index=self.chunks_index,
                             params={"keep_alive": PIT_KEEP_ALIVE})["pit_id"]
        except Exception as error:
            if _status(error) == 404:
                return
            raise
        try:
            after = None
            while True:
                body = {"query": query, "size": PAGE, "sort": sort, "_source": source,
                        "pit": {"id": pit, "keep_alive": PIT_KEEP_ALIVE}}
                if after is not None:
                    body["search_after"] = after
                hits = self._call(self.client.search, body=body)["hits"]["hits"]
                yield from hits
                if len(hits) < PAGE:
                    return
                after = hits[-1]["sort"]
        finally:
            self._call(self.client.delete_pit, body={"pit_id": [pit]})

    # -- the index ---------------------------------------------------------------------------
    def ensure_embedding_space(self, model_id: str, dimension: int) -> None:
        model, size = self.records.embedding_space(model_id, dimension)
        if (model, size) != (model_id, dimension):
            raise EmbeddingSpaceMismatch(
                f"the store {self.chunks_index} holds vectors of {model} ({size} dimensions), the configured "
                f"embedder is {model_id} ({dimension}); use another index prefix")
        try:
            self._call(self.client.indices.create, index=self.chunks_index, body=chunks_mapping(dimension))
        except Exception as error:
            if "resource_already_exists" not in _error_type(error):
                raise
        deadline = self.clock() + READY_WAIT_S
        while True:  # a new index answers only after a while: wait here, not in the first write
            try:
                self._call(self.client.count, index=self.chunks_index)
                return
            except Exception as error:
                if _status(error) != 404 or self.clock() > deadline:
                    raise
                self.sleep(2.0)

    # -- documents ---------------------------------------------------------------------------
    def get_document(self, doc_id: str) -> DocumentRecord | None:
        return self.records.get(doc_id)

    def stored_order(self, doc_id: str) -> str | None:
        return self.records.stored_order(doc_id)

    def list_documents(self, uri_prefix: str | None = None) -> list[DocumentRecord]:
        return self.records.list(uri_prefix)

    def _index_chunks(self, record: DocumentRecord, chunks, vectors) -> list[str]:
        """Index one document's chunks of one generation, in bulk requests of bounded size."""
        written_at = self.clock()
        ids, actions, size = [], [], 0
        for chunk, vector in zip(chunks, vectors, strict=True):
            source = {k: getattr(chunk, k) for k in CHUNK_FIELDS}
            source.update(heading_path=list(chunk.heading_path), headings=" ".join(chunk.heading_path),
                          content_hash=record.content_hash, generation=record.generation, order=record.order,
                          written_at=written_at, vector=[float(x) for x in vector])
            actions += [{"index": {"_index": self.chunks_index}}, source]
            size += len(json.dumps(source))
            if size >= BULK_BYTES:
                ids += [item["index"]["_id"] for item in self._bulk(actions)]
                actions, size = [], 0
        ids += [item["index"]["_id"] for item in self._bulk(actions)]
        return ids

    def replace_documents(self, batch) -> list[str]:
        superseded = []
        for given, chunks, vectors in batch:
            if len(chunks) != len(vectors):
                raise StoreError(f"{given.path}: {len(chunks)} chunks but {len(vectors)} vectors")
            record = replace(given, generation=given.generation or uuid.uuid4().hex, status="indexed",
                             reason="", chunk_count=len(chunks))
            ids = self._index_chunks(record, chunks, vectors)
            if self.schedule_sweep:  # asked now, so a crash before the commit leaves nothing for good
                self.schedule_sweep(record.doc_id)
            if not self.records.commit(record):  # a newer write stands: this one's chunks must go
                self._delete_ids(ids)
                superseded.append(record.doc_id)
                continue
            self.sweep(record.doc_id)
        return superseded

    def record_status(self, record: DocumentRecord) -> bool:
        return self.records.record_status(record)

    def delete_document(self, doc_id: str, order: str = "") -> int:
        if order:
            if not self.records.tombstone(doc_id, order):
                return 0  # a newer write stands: an older delete must not remove it
            return self.sweep(doc_id)
        self.records.remove(doc_id)
        ids = [h["_id"] for h in self._all_hits({"term": {"doc_id": doc_id}}, CHUNK_ORDER, source=False)]
        self._delete_ids(ids)
        return len(ids)

    def sweep(self, doc_id: str) -> int:
        """Remove the chunks of the document that can no longer become current: those of a write no
        newer than the one that stands (its commit is refused), and those of a write older than
        `sweep_after_s` (it ended long ago without committing)."""
        current = self.records.current(doc_id)
        order, generation = current if current else (None, "")
        dead = [{"range": {"written_at": {"lt": self.clock() - self.sweep_after_s}}}]
        if order is not None:
            dead.append({"range": {"order": {"lte": order}}})
        query = {"bool": {"filter": [{"term": {"doc_id": doc_id}}],
                          "should": dead, "minimum_should_match": 1,
                          **({"must_not": [{"term": {"generation": generation}}]} if generation else {})}}
        ids = [h["_id"] for h in self._all_hits(query, CHUNK_ORDER, source=False)]
        self._delete_ids(ids)
        if ids:
            log.info("swept %d stale chunks of %s", len(ids), doc_id)
        return len(ids)

    def get_chunks(self, doc_id: str) -> list[Chunk]:
        record = self.records.get(doc_id)
        if record is None:
            return []
        query = {"bool": {"filter": [{"term": {"doc_id": doc_id}}, {"term": {"generation": record.generation}}]}}
        return [self._chunk(h["_source"]) for h in self._all_hits(query, [{"position": "asc"}],
                                                                  source={"excludes": ["vector"]})]

    def count_chunks(self) -> int:
        """Chunks searchable now (a replaced document's old chunks count until they are swept)."""
        try:
            return self._call(self.client.count, index=self.chunks_index)["count"]
        except Exception as error:
            if _status(error) == 404:
                return 0
            raise

    # -- search ------------------------------------------------------------------------------
    @staticmethod
    def _chunk(source: dict) -> Chunk:
        values = {k: source.get(k) for k in CHUNK_FIELDS}
        values["heading_path"] = tuple(values["heading_path"] or ())
        values["url"] = values["url"] or ""  # chunks written before documents had public addresses
        return Chunk(**values)

    def _current_only(self, hits: list[dict], k: int) -> list[dict]:
        """Hits of each document's current generation: a chunk left by a race or a crash, or of a
        deleted document, is dropped before anything ranks it."""
        current = self.records.generations([h["_source"]["doc_id"] for h in hits])
        return [h for h in hits if current.get(h["_source"]["doc_id"]) == h["_source"].get("generation")][:k]

    def _scored(self, hits: list[dict], arm: str, transform=lambda s: s) -> list[ScoredChunk]:
        return [ScoredChunk(chunk=self._chunk(h["_source"]), score=transform(h["_score"]), ranks={arm: rank},
                            arm_scores={arm: transform(h["_score"])})
                for rank, h in enumerate(hits, start=1)]

    def keyword_search(self, query: str, k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        if k <= 0 or not query.strip():
            return []
        body = {"size": k + 20, "_source": {"excludes": ["vector"]}, "query": {"bool": {
            "must": [{"multi_match": {"query": query, "fields": ["title^2", "headings^1.5", "text"],
                                      "type": "most_fields"}}],
            "filter": _filter_clauses(filters)}}}
        hits = self._search(body, self.chunks_index)["hits"]["hits"]
        return self._scored(self._current_only(hits, k), "bm25")

    def vector_search(self, vector, k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        if k <= 0:
            return []
        knn: dict = {"vector": [float(x) for x in vector], "k": k + 20}
        clauses = _filter_clauses(filters)
        if clauses:
            knn["filter"] = {"bool": {"filter": clauses}}
        body = {"size": k + 20, "_source": {"excludes": ["vector"]}, "query": {"knn": {"vector": knn}}}
        hits = self._search(body, self.chunks_index)["hits"]["hits"]
        return self._scored(self._current_only(hits, k), "dense", cosine_from_score)
