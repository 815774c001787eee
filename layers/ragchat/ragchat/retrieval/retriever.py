"""Hybrid retrieval: BM25 and vector search over any ChunkStore, fused by reciprocal rank."""

from __future__ import annotations

from ragchat.domain import Filters, ScoredChunk
from ragchat.errors import InvalidQuery
from ragchat.ports import ChunkStore, QueryEmbedder
from ragchat.retrieval.fusion import reciprocal_rank_fusion

MODES = ("hybrid", "bm25", "dense")
MAX_K = 1000
MAX_QUERY_CHARS = 8000  # a question plus the words a follow-up rewrite adds


class HybridRetriever:
    """Retriever port. `candidates` is how deep each arm looks before fusion."""

    def __init__(self, store: ChunkStore, embedder: QueryEmbedder, candidates: int, rrf_k: int):
        self.store = store
        self.embedder = embedder
        self.candidates = candidates
        self.rrf_k = rrf_k

    def search(self, query: str, k: int = 10, filters: Filters | None = None,
               mode: str = "hybrid") -> list[ScoredChunk]:
        query = (query or "").strip()
        if not query:
            raise InvalidQuery("the query is empty")
        if len(query) > MAX_QUERY_CHARS:
            raise InvalidQuery(f"the query is longer than {MAX_QUERY_CHARS} characters")
        if not 1 <= k <= MAX_K:
            raise InvalidQuery(f"k must be between 1 and {MAX_K}")
        if mode not in MODES:
            raise InvalidQuery(f"mode must be one of {', '.join(MODES)}")
        if mode == "bm25":
            return self.store.keyword_search(query, k, filters)
        if mode == "dense":
            return self.store.vector_search(self.embedder.embed_query(query), k, filters)
        depth = max(k, self.candidates)
        arms = {
            "bm25": self.store.keyword_search(query, depth, filters),
            "dense": self.store.vector_search(self.embedder.embed_query(query), depth, filters),
        }
        return reciprocal_rank_fusion(arms, k=self.rrf_k, limit=k)
