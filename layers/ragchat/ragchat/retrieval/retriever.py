"""Hybrid retrieval over any ChunkStore: a keyword arm (BM25) and a vector arm run side by side,
fused by score (fusion.py), then optionally reordered by a reranker within a latency budget."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from ragchat.domain import Filters, ScoredChunk
from ragchat.errors import InvalidQuery
from ragchat.ports import ChunkStore, QueryEmbedder, Reranker
from ragchat.retrieval.fusion import DENSE_WEIGHT, convex_fusion, reciprocal_rank_fusion

MODES = ("hybrid", "bm25", "dense")
FUSIONS = ("convex", "rrf")
MAX_K = 1000
RERANKS_IN_FLIGHT = 4
MAX_QUERY_CHARS = 8000  # a question plus the words a follow-up rewrite adds
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fusion:
    method: str = "convex"  # "convex" (TM2C2, the default) or "rrf"
    dense_weight: float = DENSE_WEIGHT  # convex: the vector arm's weight, the keyword arm has the rest
    rrf_k: int = 60

    def __post_init__(self):
        if self.method not in FUSIONS:
            raise ValueError(f"fusion must be one of {', '.join(FUSIONS)}, not {self.method!r}")
        if not 0.0 <= self.dense_weight <= 1.0:
            raise ValueError("the dense weight must be between 0 and 1")

    def __call__(self, arms: dict[str, list[ScoredChunk]], limit: int, depth: int | None = None) -> list[ScoredChunk]:
        """`depth`: how many hits each arm was asked for (an arm that returned fewer holds every match)."""
        if self.method == "rrf":
            return reciprocal_rank_fusion(arms, k=self.rrf_k, limit=limit)
        return convex_fusion(arms, {"dense": self.dense_weight, "bm25": 1.0 - self.dense_weight}, limit=limit,
                             depth=depth)


@dataclass(frozen=True)
class Reranking:
    """A reranker over the top `candidates` fused hits; past `budget_s`, or on any failure, the
    fused order stands."""

    reranker: Reranker
    candidates: int = 20
    budget_s: float = 1.5
    on_fallback: Callable[[str], None] = lambda reason: None


class HybridRetriever:
    """Retriever port. `candidates` is how deep each arm looks before fusion."""

    def __init__(self, store: ChunkStore, embedder: QueryEmbedder, candidates: int, fusion: Fusion | None = None,
                 reranking: Reranking | None = None):
        self.store = store
        self.embedder = embedder
        self.candidates = candidates
        self.fusion = fusion or Fusion()
        self.reranking = reranking
        self._pool: ThreadPoolExecutor | None = None
        self._rerank_pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        # a late rerank call is not cancelled (an HTTP or Bedrock call cannot be): it keeps its
        # thread until it ends, so at most RERANKS_IN_FLIGHT run at once, and when all are taken
        # the next search keeps its fused order at once instead of queueing behind them
        self._rerank_slots = threading.BoundedSemaphore(RERANKS_IN_FLIGHT)

    def search(self, query: str, k: int = 10, filters: Filters | None = None, mode: str = "hybrid",
               rerank: bool | None = None) -> list[ScoredChunk]:
        """`rerank`: None reranks hybrid results when a reranker is configured; False never does."""
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
        fused = self.fusion(self._arms(query, depth, filters), limit=depth, depth=depth)
        if self.reranking is not None and rerank is not False:
            return self._reranked(query, fused, k)
        return fused[:k]

    def _arms(self, query: str, depth: int, filters: Filters | None) -> dict[str, list[ScoredChunk]]:
        """The keyword arm on a worker thread while this one embeds the query and runs the vector
        arm: the two wait on different things (an index, a model), so the slower one sets the pace."""
        keyword = self._worker().submit(self.store.keyword_search, query, depth, filters)
        dense = self.store.vector_search(self.embedder.embed_query(query), depth, filters)
        return {"bm25": keyword.result(), "dense": dense}

    def _worker(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ragchat-retrieval")
            return self._pool

    def _rerank_worker(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._rerank_pool is None:
                self._rerank_pool = ThreadPoolExecutor(max_workers=RERANKS_IN_FLIGHT,
                                                       thread_name_prefix="ragchat-rerank")
            return self._rerank_pool

    def _reranked(self, query: str, fused: list[ScoredChunk], k: int) -> list[ScoredChunk]:
        reranking = self.reranking
        head, tail = fused[:reranking.candidates], fused[reranking.candidates:]
        if len(head) < 2:
            return fused[:k]
        if not self._rerank_slots.acquire(blocking=False):
            return self._fallback(fused, k, f"{RERANKS_IN_FLIGHT} earlier calls are still running")
        started = time.monotonic()
        try:
            call = self._rerank_worker().submit(reranking.reranker.rerank, query,
                                                [h.chunk.embedding_text for h in head], reranking.budget_s)
        except Exception:
            self._rerank_slots.release()
            raise
        call.add_done_callback(lambda _: self._rerank_slots.release())
        try:
            scores = call.result(timeout=reranking.budget_s)
            if len(scores) != len(head):
                raise ValueError(f"{len(scores)} scores for {len(head)} passages")
            if not all(math.isfinite(score) for score in scores):
                raise ValueError("a passage left out, or a score that is not a finite number")
        except FutureTimeout:
            return self._fallback(fused, k, f"no answer within {reranking.budget_s:.1f} s")
        except Exception as exc:  # the reranker's failure must never cost the user the answer
            return self._fallback(fused, k, f"{type(exc).__name__}: {exc}")
        log.debug("reranked %d passages in %.0f ms", len(head), (time.monotonic() - started) * 1000)
        order = sorted(range(len(head)), key=lambda i: -scores[i])
        reranked = [ScoredChunk(chunk=head[i].chunk, score=float(scores[i]),
                                ranks={**head[i].ranks, "rerank": rank},
                                arm_scores={**head[i].arm_scores, "rerank": float(scores[i])})
                    for rank, i in enumerate(order, start=1)]
        return (reranked + tail)[:k]

    def _fallback(self, fused: list[ScoredChunk], k: int, reason: str) -> list[ScoredChunk]:
        log.warning("reranker %s skipped, fused order kept: %s", self.reranking.reranker.name, reason)
        self.reranking.on_fallback(reason)
        return fused[:k]
