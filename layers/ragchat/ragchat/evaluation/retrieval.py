"""`ragchat eval retrieval`: ingest a BEIR corpus through the real pipeline, score every mode."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ragchat.evaluation.beir import BeirCorpusSource, BeirDataset
from ragchat.evaluation.metrics import ndcg_at_k, percentile, recall_at_k
from ragchat.ingest.pipeline import IngestPipeline
from ragchat.ports import Retriever
from ragchat.retrieval.retriever import MODES

CHUNK_DEPTH = 300  # chunks asked for, so that ~100 distinct documents remain after collapsing


@dataclass
class ModeResult:
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


def _documents_in_order(results) -> list[str]:
    """Chunk hits to document ids, each document at the rank of its best chunk."""
    seen: dict[str, None] = {}
    for hit in results:
        seen.setdefault(hit.chunk.path, None)
    return list(seen)


def evaluate(pipeline: IngestPipeline, retriever: Retriever, dataset: BeirDataset, progress=None) -> dict:
    """Ingest the dataset's corpus with `pipeline` (into an empty store), then score every mode of
    `retriever` over that store on the dataset's queries."""
    started = time.perf_counter()
    report = pipeline.sync(BeirCorpusSource(dataset), progress=progress)
    ingest_seconds = time.perf_counter() - started
    retriever.search("warm up", k=1)  # model loading is not query latency

    results: dict[str, ModeResult] = {}
    for mode in MODES:
        ndcgs, recalls, latencies = [], [], []
        for query_id, text in dataset.queries.items():
            t0 = time.perf_counter()
            hits = retriever.search(text, k=CHUNK_DEPTH, mode=mode)
            latencies.append((time.perf_counter() - t0) * 1000)
            ranked = _documents_in_order(hits)
            ndcgs.append(ndcg_at_k(ranked, dataset.qrels[query_id], 10))
            recalls.append(recall_at_k(ranked, dataset.qrels[query_id], 100))
        results[mode] = ModeResult(sum(ndcgs) / len(ndcgs), sum(recalls) / len(recalls), latencies)

    out: dict = {mode: results[mode].as_dict() for mode in MODES}
    out["ingest"] = {
        "documents": report.seen, "chunks": pipeline.store.count_chunks(), "skipped": len(report.rejected),
        "failed": len(report.failed),
        "seconds": round(ingest_seconds, 1),
    }
    out["dataset"] = {"name": dataset.name, "queries": len(dataset.queries), "corpus": len(dataset.corpus)}
    return out
