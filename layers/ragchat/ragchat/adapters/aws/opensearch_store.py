"""OpenSearch Serverless (VECTORSEARCH collection) as the ChunkStore, through opensearch-py.

Serverless vector collections take no custom document ids and no upserts, so documents and chunks
are found by their `doc_id` field: a replacement indexes the new chunks first, then deletes the
old ones by searching for them (every page), so a document never goes without chunks. Two indexes:
`<prefix>-chunks` (mapping: chunks_index.json beside this module) and `<prefix>-documents` (one
record per document with its ingest status). The embedding model is recorded in the chunks
index's `_meta`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from ragchat.access import PRIVATE_ROOT, private_prefix
from ragchat.domain import Chunk, DocumentRecord, Filters, ScoredChunk
from ragchat.errors import EmbeddingSpaceMismatch, StoreError

PAGE = 500
DOCUMENTS_MAPPING = {
    "mappings": {"properties": {
        "doc_id": {"type": "keyword"}, "uri": {"type": "keyword"}, "path": {"type": "keyword"},
        "title": {"type": "keyword"}, "doc_type": {"type": "keyword"}, "content_hash": {"type": "keyword"},
        "pipeline_version": {"type": "keyword"}, "size": {"type": "long"}, "status": {"type": "keyword"},
        "reason": {"type": "keyword", "index": False}, "chunk_count": {"type": "integer"},
        "updated_at": {"type": "double"},
    }}
}
CHUNK_FIELDS = ("chunk_id", "doc_id", "position", "text", "title", "heading_path", "page", "token_count", "path",
                "uri", "doc_type")


def chunks_mapping(dimension: int, model_id: str) -> dict:
    """The index body of chunks_index.json (beside this module) with the embedding dimension filled in."""
    body = json.loads((Path(__file__).parent / "chunks_index.json").read_text())
    body["mappings"]["properties"]["vector"]["dimension"] = dimension
    body["mappings"]["_meta"] = {"embedding_model": model_id, "embedding_dimension": dimension}
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
    if filters.visible_to:  # the shared library or the user's own uploads (ragchat/access.py)
        clauses.append({"bool": {"should": [
            {"bool": {"must_not": [{"prefix": {"path": PRIVATE_ROOT}}]}},
            {"prefix": {"path": private_prefix(filters.visible_to)}},
            {"bool": {"filter": [{"prefix": {"path": PRIVATE_ROOT}}],  # directly in uploads/: no owner
                      "must_not": [{"wildcard": {"path": f"{PRIVATE_ROOT}*/*"}}]}},
        ], "minimum_should_match": 1}})
    return clauses


class OpenSearchChunkStore:
    def __init__(self, client, prefix: str = "ragchat"):
        self.client = client
        self.chunks_index = f"{prefix}-chunks"
        self.documents_index = f"{prefix}-documents"

    @classmethod
    def for_collection(cls, endpoint: str, region: str, prefix: str = "ragchat") -> OpenSearchChunkStore:
        """A client for an OpenSearch Serverless collection endpoint, signed with SigV4 for `aoss`."""
        import boto3
        from opensearchpy import AWSV4SignerAuth, OpenSearch, RequestsHttpConnection

        auth = AWSV4SignerAuth(boto3.Session().get_credentials(), region, "aoss")
        host = endpoint.removeprefix("https://").rstrip("/")
        client = OpenSearch(hosts=[{"host": host, "port": 443}], http_auth=auth, use_ssl=True, verify_certs=True,
                            connection_class=RequestsHttpConnection, timeout=30, max_retries=3,
                            retry_on_timeout=True)
        return cls(client, prefix)

    # -- indexes -----------------------------------------------------------------------------
    def ensure_embedding_space(self, model_id: str, dimension: int) -> None:
        if not self.client.indices.exists(index=self.documents_index):
            self.client.indices.create(index=self.documents_index, body=DOCUMENTS_MAPPING)
        if not self.client.indices.exists(index=self.chunks_index):
            self.client.indices.create(index=self.chunks_index, body=chunks_mapping(dimension, model_id))
            return
        meta = self.client.indices.get_mapping(index=self.chunks_index)[self.chunks_index]["mappings"].get("_meta", {})
        if meta.get("embedding_model") != model_id or meta.get("embedding_dimension") != dimension:
            raise EmbeddingSpaceMismatch(
                f"index {self.chunks_index} holds vectors of {meta.get('embedding_model')} "
                f"({meta.get('embedding_dimension')} dimensions), the configured embedder is {model_id} "
                f"({dimension}); use another index prefix")

    # -- helpers -----------------------------------------------------------------------------
    def _hits(self, index: str, query: dict, source=True, sort: list | None = None) -> Iterator[dict]:
        """Every hit of a query, page by page (search_after on _id-less sorts is not available, so from/size)."""
        start = 0
        while True:
            body = {"query": query, "size": PAGE, "from": start, "_source": source}
            if sort:
                body["sort"] = sort
            hits = self.client.search(index=index, body=body)["hits"]["hits"]
            yield from hits
            if len(hits) < PAGE:
                return
            start += PAGE

    def _bulk(self, actions: list[dict]) -> list[dict]:
        if not actions:
            return []
        response = self.client.bulk(body=actions)
        if response.get("errors"):
            failed = [item for item in response["items"] if next(iter(item.values())).get("error")]
            raise StoreError(f"OpenSearch bulk request failed for {len(failed)} items: {failed[:1]}")
        return response["items"]

    def _delete_ids(self, index: str, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), PAGE):
            self._bulk([{"delete": {"_index": index, "_id": i}} for i in ids[start:start + PAGE]])

    @staticmethod
    def _record(source: dict) -> DocumentRecord:
        return DocumentRecord(**{k: source[k] for k in DocumentRecord.__dataclass_fields__})

    @staticmethod
    def _chunk(source: dict) -> Chunk:
        values = {k: source.get(k) for k in CHUNK_FIELDS}
        values["heading_path"] = tuple(values["heading_path"] or ())
        return Chunk(**values)

    def _record_hits(self, doc_id: str) -> list[dict]:
        return list(self._hits(self.documents_index, {"term": {"doc_id": doc_id}},
                               sort=[{"updated_at": {"order": "desc"}}]))

    # -- documents ---------------------------------------------------------------------------
    def get_document(self, doc_id: str) -> DocumentRecord | None:
        hits = self._record_hits(doc_id)
        return self._record(hits[0]["_source"]) if hits else None

    def list_documents(self, uri_prefix: str | None = None) -> list[DocumentRecord]:
        query = {"prefix": {"uri": uri_prefix}} if uri_prefix else {"match_all": {}}
        newest: dict[str, DocumentRecord] = {}
        for hit in self._hits(self.documents_index, query):
            record = self._record(hit["_source"])
            if record.doc_id not in newest or record.updated_at > newest[record.doc_id].updated_at:
                newest[record.doc_id] = record
        return sorted(newest.values(), key=lambda r: r.path)

    def replace_documents(self, batch) -> None:
        now = time.time()
        actions: list[dict] = []
        for record, chunks, vectors in batch:
            if len(chunks) != len(vectors):
                raise StoreError(f"{record.path}: {len(chunks)} chunks but {len(vectors)} vectors")
            for chunk, vector in zip(chunks, vectors):
                source = {k: getattr(chunk, k) for k in CHUNK_FIELDS}
                source.update(heading_path=list(chunk.heading_path), headings=" ".join(chunk.heading_path),
                              content_hash=record.content_hash, vector=[float(x) for x in vector])
                actions += [{"index": {"_index": self.chunks_index}}, source]
            stored = {**record.__dict__, "status": "indexed", "reason": "", "chunk_count": len(chunks),
                      "updated_at": record.updated_at or now}
            actions += [{"index": {"_index": self.documents_index}}, stored]
        items = self._bulk(actions)  # the new version is in before the old one goes
        new_ids = {item["index"]["_id"] for item in items}
        for record, _, _ in batch:
            old_chunks = [h["_id"] for h in self._hits(self.chunks_index, {"bool": {
                "filter": [{"term": {"doc_id": record.doc_id}}],
                "must_not": [{"term": {"content_hash": record.content_hash}}]}}, source=False)]
            self._delete_ids(self.chunks_index, old_chunks)
            old_records = [h["_id"] for h in self._record_hits(record.doc_id) if h["_id"] not in new_ids]
            self._delete_ids(self.documents_index, old_records)

    def record_status(self, record: DocumentRecord) -> None:
        hits = self._record_hits(record.doc_id)
        existing = self._record(hits[0]["_source"]) if hits else None
        if existing and existing.chunk_count > 0:  # keep the good version's identity and chunks
            stored = {**existing.__dict__, "status": record.status, "reason": record.reason, "updated_at": time.time()}
        else:
            stored = {**record.__dict__, "chunk_count": 0, "updated_at": time.time()}
        items = self._bulk([{"index": {"_index": self.documents_index}}, stored])
        self._delete_ids(self.documents_index, [h["_id"] for h in hits if h["_id"] != items[0]["index"]["_id"]])

    def delete_document(self, doc_id: str) -> int:
        chunk_ids = [h["_id"] for h in self._hits(self.chunks_index, {"term": {"doc_id": doc_id}}, source=False)]
        self._delete_ids(self.chunks_index, chunk_ids)
        self._delete_ids(self.documents_index, [h["_id"] for h in self._record_hits(doc_id)])
        return len(chunk_ids)

    def get_chunks(self, doc_id: str) -> list[Chunk]:
        hits = self._hits(self.chunks_index, {"term": {"doc_id": doc_id}}, sort=[{"position": {"order": "asc"}}],
                          source={"excludes": ["vector"]})
        return [self._chunk(h["_source"]) for h in hits]

    def count_chunks(self) -> int:
        return self.client.count(index=self.chunks_index)["count"]

    # -- search ------------------------------------------------------------------------------
    def _scored(self, hits: list[dict], arm: str, transform=lambda s: s) -> list[ScoredChunk]:
        return [ScoredChunk(chunk=self._chunk(h["_source"]), score=transform(h["_score"]), ranks={arm: rank},
                            arm_scores={arm: transform(h["_score"])})
                for rank, h in enumerate(hits, start=1)]

    def keyword_search(self, query: str, k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        if k <= 0 or not query.strip():
            return []
        body = {"size": k, "_source": {"excludes": ["vector"]}, "query": {"bool": {
            "must": [{"multi_match": {"query": query, "fields": ["title^2", "headings^1.5", "text"],
                                      "type": "most_fields"}}],
            "filter": _filter_clauses(filters)}}}
        return self._scored(self.client.search(index=self.chunks_index, body=body)["hits"]["hits"], "bm25")

    def vector_search(self, vector, k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        if k <= 0:
            return []
        knn: dict = {"vector": [float(x) for x in vector], "k": k}
        clauses = _filter_clauses(filters)
        if clauses:
            knn["filter"] = {"bool": {"filter": clauses}}
        body = {"size": k, "_source": {"excludes": ["vector"]}, "query": {"knn": {"vector": knn}}}
        hits = self.client.search(index=self.chunks_index, body=body)["hits"]["hits"]
        return self._scored(hits, "dense", cosine_from_score)

