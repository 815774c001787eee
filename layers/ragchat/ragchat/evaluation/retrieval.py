"""`ragchat eval retrieval`: ingest a corpus through the real pipeline, then score every retrieval
stage side by side (bm25, dense, hybrid, the old RRF hybrid for reference, hybrid+rerank when a
reranker is configured) with nDCG@10, Recall@100 and latency per query.

Two kinds of evaluation set: a BEIR dataset (corpus.jsonl, queries.jsonl, qrels/<split>.tsv), and a
folder of documents with a file of questions, one JSON object a line:
{"id": ..., "question": ..., "relevant": ["path/relative/to/the/folder.md", ...]}.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from ragchat.domain import ScoredChunk
from ragchat.errors import ConfigurationError
from ragchat.evaluation.metrics import ndcg_at_k, percentile, recall_at_k
from ragchat.ingest.pipeline import IngestPipeline
from ragchat.ports import DocumentSource
from ragchat.retrieval.retriever import Fusion, HybridRetriever

CHUNK_DEPTH = 300  # chunks asked for, so that ~100 distinct documents remain after collapsing
Stage = Callable[[str, int], list[ScoredChunk]]


@dataclass
class QuestionSet:
    """What an evaluation asks and what counts as relevant: document keys as the source names them
    (BEIR ids, or paths relative to a folder)."""

    name: str
    queries: dict[str, str]  # query id -> text
    qrels: dict[str, dict[str, int]]  # query id -> document key -> grade


@dataclass
class StageResult:
    ndcg_at_10: float
    recall_at_100: float
    latency_ms: list[float] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "ndcg@10": round(self.ndcg_at_10, 4),
            "recall@100": round(self.recall_at_100, 4),
            "latency_p50_ms": round(percentile(self.latency_ms, 50), 2),
            "latency_p95_ms": round(percentile(self.latency_ms, 95), 2),
        }


def load_questions(path: str | Path, name: str | None = None) -> QuestionSet:
    path = Path(path)
    if not path.is_file():
        raise ConfigurationError(f"no question file at {path}")
    queries, qrels = {}, {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            query_id, text, relevant = str(item["id"]), item["question"], item["relevant"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"{path}:{number}: expected {{id, question, relevant: [paths]}}") from exc
        if not relevant:
            raise ConfigurationError(f"{path}:{number}: a question needs at least one relevant document")
        queries[query_id] = text
        qrels[query_id] = dict.fromkeys(relevant, 1)
    return QuestionSet(name or path.stem, queries, qrels)


def stages_of(retriever: HybridRetriever) -> dict[str, Stage]:
    """Every stage the retriever can run, each on its own: the two arms, the configured fusion, the
    old reciprocal rank fusion beside it, and the rerank stage when one is configured."""
    stages: dict[str, Stage] = {
        "bm25": lambda q, k: retriever.search(q, k, mode="bm25"),
        "dense": lambda q, k: retriever.search(q, k, mode="dense"),
        "hybrid": lambda q, k: retriever.search(q, k, rerank=False),
    }
    if retriever.fusion.method != "rrf":
        rrf = HybridRetriever(retriever.store, retriever.embedder, retriever.candidates,
                              Fusion("rrf", rrf_k=retriever.fusion.rrf_k))
        stages["hybrid (rrf)"] = rrf.search
    if retriever.reranking is not None:
        stages["hybrid+rerank"] = RerankStage(retriever)
    return stages


class RerankStage:
    """The reranked stage, counting the searches that fell back to the fused order (a reranker that
    fails every time must not pass for one that reranks)."""

    def __init__(self, retriever: HybridRetriever):
        self.fallbacks: list[str] = []
        self.retriever = HybridRetriever(retriever.store, retriever.embedder, retriever.candidates, retriever.fusion,
                                         replace(retriever.reranking, on_fallback=self.fallbacks.append))

    def __call__(self, query: str, k: int) -> list[ScoredChunk]:
        return self.retriever.search(query, k, rerank=True)


def _documents_in_order(results: list[ScoredChunk]) -> list[str]:
    """Chunk hits to document keys, each document at the rank of its best chunk."""
    seen: dict[str, None] = {}
    for hit in results:
        seen.setdefault(hit.chunk.path, None)
    return list(seen)


def evaluate(pipeline: IngestPipeline, stages: Mapping[str, Stage], source: DocumentSource, questions: QuestionSet,
             progress=None, before_stage: Callable[[], None] | None = None) -> dict:
    """Ingest `source` with `pipeline` (into an empty store), then score every stage on the questions.
    `before_stage` runs before each stage (the CLI empties the embedder's cache of recent questions,
    so no stage is timed on the embeddings of the one before)."""
    started = time.perf_counter()
    report = pipeline.sync(source, progress=progress)
    ingest_seconds = time.perf_counter() - started
    relevant = {key for grades in questions.qrels.values() for key in grades}
    unknown = sorted(relevant - {d.path for d in pipeline.store.list_documents()})
    if unknown and len(unknown) == len(relevant):
        raise ConfigurationError(f"none of the relevant documents is in the corpus (e.g. {unknown[:3]}): "
                                 "is it the right folder?")
    for run in stages.values():
        run("warm up", 1)  # model loading is not query latency
        if isinstance(run, RerankStage):
            run.fallbacks.clear()

    out: dict = {"stages": {}}
    for name, run in stages.items():
        if before_stage is not None:
            before_stage()
        ndcgs, recalls, latencies = [], [], []
        for query_id, text in questions.queries.items():
            t0 = time.perf_counter()
            ranked = _documents_in_order(run(text, CHUNK_DEPTH))
            latencies.append((time.perf_counter() - t0) * 1000)
            ndcgs.append(ndcg_at_k(ranked, questions.qrels[query_id], 10))
            recalls.append(recall_at_k(ranked, questions.qrels[query_id], 100))
        out["stages"][name] = StageResult(sum(ndcgs) / len(ndcgs), sum(recalls) / len(recalls), latencies).as_dict()
        if isinstance(run, RerankStage):
            out["stages"][name]["fell_back"] = len(run.fallbacks)
    out["ingest"] = {
        "documents": report.seen, "chunks": pipeline.store.count_chunks(), "skipped": len(report.rejected),
        "failed": len(report.failed), "seconds": round(ingest_seconds, 1),
    }
    out["dataset"] = {"name": questions.name, "queries": len(questions.queries), "corpus": report.seen,
                      "relevant_not_in_corpus": unknown}
    return out
