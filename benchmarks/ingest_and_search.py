"""Ingest overhead and search latency of the embedded default, side by side in one run.

    python benchmarks/ingest_and_search.py [--scifact DIR] [--chunks 100000] [--queries 200] [--skip-ingest]

Part 1 ingests the SciFact corpus through the real pipeline into a fresh store, then embeds the
very same chunk texts with the same model and batch size alone: the ratio is the pipeline's
overhead (parsing, chunking, hashing, SQLite writes). Target: <= 1.25x.

Part 2 fills a fresh store with N synthetic chunks (words drawn with Zipf's law from the SciFact
vocabulary, random unit vectors) and times BM25, dense and hybrid searches, each including what
that mode really pays per query: the query embedding for dense and hybrid, never from the
embedder's cache of recent questions. Hybrid is timed twice side by side, with its arms one after
the other and (the product's way) at the same time, then with a rerank stage whose FAKE reranker
answers in a fixed 30 ms. Target: hybrid p50 < 20 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "ragchat"))

from ragchat.adapters.local.sqlite_store import SqliteChunkStore
from ragchat.bootstrap import build_core, build_embedder
from ragchat.config import Settings
from ragchat.domain import Chunk, DocumentRecord
from ragchat.evaluation.beir import BeirCorpusSource, load_beir
from ragchat.evaluation.metrics import percentile
from ragchat.retrieval.retriever import HybridRetriever, Reranking

DEFAULT_SCIFACT = ROOT.parent / "shared" / "datasets" / "scifact"


class TimedEmbedder:
    """Wraps an embedder and adds up the seconds spent inside embed_documents."""

    def __init__(self, inner):
        self.inner, self.seconds = inner, 0.0
        self.model_id, self.dimension = inner.model_id, inner.dimension

    def embed_documents(self, texts):
        started = time.perf_counter()
        try:
            return self.inner.embed_documents(texts)
        finally:
            self.seconds += time.perf_counter() - started

    def embed_query(self, text):
        return self.inner.embed_query(text)


class UncachedQueries:
    """The embedder, with every query embedded afresh (as a new question is in real use): the
    embedder's cache of recent questions would otherwise serve every repeat of the benchmark's."""

    def __init__(self, inner):
        self.inner, self.model_id, self.dimension = inner, inner.model_id, inner.dimension

    def embed_query(self, text):
        self.inner.forget_queries()
        return self.inner.embed_query(text)

    def score_vectors(self, matrix, query):
        return self.inner.score_vectors(matrix, query)


class ArmsInTurn(HybridRetriever):
    """The hybrid retriever as it was: the keyword arm, then the query embedding and the vector arm."""

    def _arms(self, query, depth, filters):
        keyword = self.store.keyword_search(query, depth, filters)
        return {"bm25": keyword, "dense": self.store.vector_search(self.embedder.embed_query(query), depth, filters)}


class FixedLatencyReranker:
    """A FAKE reranker that takes a fixed time and keeps the order it was given."""

    name = "fixed-latency"

    def __init__(self, seconds: float):
        self.seconds = seconds

    def rerank(self, query, passages, timeout_s):
        time.sleep(self.seconds)
        return [float(len(passages) - i) for i in range(len(passages))]


def ingest_overhead(dataset_dir: Path, embedder, scratch: Path) -> dict:
    dataset = load_beir(dataset_dir, "test")
    timed = TimedEmbedder(embedder)
    services = build_core(Settings(data_dir=scratch / "scifact"), embedder=timed)
    started = time.perf_counter()
    report = services.pipeline.sync(BeirCorpusSource(dataset))
    ingest_seconds = time.perf_counter() - started

    texts = [c.embedding_text for d in services.store.list_documents() for c in services.store.get_chunks(d.doc_id)]
    batch = services.pipeline.batch_chunks
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        embedder.embed_documents(texts[i:i + batch])
    alone_seconds = time.perf_counter() - started
    return {
        "documents": report.seen, "chunks": len(texts), "skipped": len(report.rejected) + len(report.failed),
        "ingest_s": ingest_seconds, "embedding_inside_ingest_s": timed.seconds,
        "embedding_alone_s": alone_seconds, "ratio": ingest_seconds / alone_seconds,
    }


def vocabulary(dataset_dir: Path) -> list[str]:
    words: dict[str, int] = {}
    corpus = dataset_dir / "corpus.jsonl"
    if corpus.is_file():
        with corpus.open() as handle:
            for line in handle:
                for word in re.findall(r"[a-z]{3,}", json.loads(line)["text"].lower()):
                    words[word] = words.get(word, 0) + 1
    if len(words) < 1000:  # no dataset: a made-up vocabulary keeps the benchmark runnable
        return [f"term{i}" for i in range(30000)]
    return [w for w, _ in sorted(words.items(), key=lambda kv: -kv[1])]


def fill_synthetic(store: SqliteChunkStore, n_chunks: int, vocab: list[str], dimension: int, seed: int = 7) -> float:
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, len(vocab) + 1)
    weights = 1.0 / ranks
    weights /= weights.sum()
    per_doc = 50
    started = time.perf_counter()
    for d in range(0, n_chunks, per_doc):
        doc_id = f"syn{d // per_doc:06d}"
        record = DocumentRecord(doc_id=doc_id, uri=f"synthetic://{doc_id}", path=f"group{d % 7}/{doc_id}.md",
                                title=" ".join(vocab[i] for i in rng.choice(len(vocab), 4, p=weights)),
                                doc_type="markdown" if d % 3 else "pdf", content_hash="h", pipeline_version="p",
                                size=0, status="indexed")
        count = min(per_doc, n_chunks - d)
        chunks = []
        sampled = rng.choice(len(vocab), (count, 120), p=weights)
        for p, words in enumerate(sampled):
            chunks.append(Chunk(chunk_id=f"{doc_id}-{p}", doc_id=doc_id, position=p,
                                text=" ".join(vocab[i] for i in words), title=record.title,
                                heading_path=(f"Section {p}",), token_count=120, path=record.path,
                                uri=record.uri, doc_type=record.doc_type))
        vectors = rng.standard_normal((count, dimension)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        store.replace_documents([(record, chunks, vectors)])
    return time.perf_counter() - started


def search_latency(dataset_dir: Path, embedder, scratch: Path, n_chunks: int, n_queries: int) -> dict:
    store = SqliteChunkStore(scratch / "synthetic" / "ragchat.db", vector_scorer=embedder.score_vectors)
    store.ensure_embedding_space(embedder.model_id, embedder.dimension)
    fill_seconds = fill_synthetic(store, n_chunks, vocabulary(dataset_dir), embedder.dimension)
    embedder = UncachedQueries(embedder)
    services = build_core(Settings(data_dir=scratch / "synthetic"), store=store, embedder=embedder)
    retriever = services.retriever
    in_turn = ArmsInTurn(store, embedder, retriever.candidates, retriever.fusion)
    reranked = HybridRetriever(store, embedder, retriever.candidates, retriever.fusion,
                               Reranking(FixedLatencyReranker(0.030), candidates=20, budget_s=1.0))

    queries_file = dataset_dir / "queries.jsonl"
    if queries_file.is_file():
        queries = [json.loads(line)["text"] for line in queries_file.open()][:n_queries]
    else:
        rng = random.Random(3)
        queries = [" ".join(rng.sample(vocabulary(dataset_dir)[:5000], 8)) for _ in range(n_queries)]

    started = time.perf_counter()
    services.retriever.search(queries[0], k=10)  # the first search builds the in-memory indexes
    first_search_s = time.perf_counter() - started
    rows = {}
    timings = {
        "query embedding": embedder.embed_query,
        "bm25": lambda q: retriever.search(q, k=10, mode="bm25"),
        "dense": lambda q: retriever.search(q, k=10, mode="dense"),
        "hybrid, arms in turn": lambda q: in_turn.search(q, k=10),
        "hybrid": lambda q: retriever.search(q, k=10),
        "hybrid + rerank (fake, 30 ms)": lambda q: reranked.search(q, k=10),
    }
    for name, run in timings.items():
        latencies = []
        for query in queries:
            started = time.perf_counter()
            run(query)
            latencies.append((time.perf_counter() - started) * 1000)
        rows[name] = {"p50_ms": percentile(latencies, 50), "p95_ms": percentile(latencies, 95)}
    return {"chunks": store.count_chunks(), "fill_s": fill_seconds, "queries": len(queries), "latency": rows,
            "first_search_s": first_search_s}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scifact", type=Path, default=DEFAULT_SCIFACT)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--skip-ingest", action="store_true", help="only the latency part")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    embedder = build_embedder(Settings())
    embedder.warm_up()
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="ragchat-bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        if not args.skip_ingest:
            if not (args.scifact / "corpus.jsonl").is_file():
                print(f"skipping the ingest part: no SciFact dataset at {args.scifact}", file=sys.stderr)
            else:
                results["ingest"] = ingest_overhead(args.scifact, embedder, scratch)
        results["search"] = search_latency(args.scifact, embedder, scratch, args.chunks, args.queries)

    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    if "ingest" in results:
        r = results["ingest"]
        print(f"\nIngest overhead on SciFact ({r['documents']} documents, {r['chunks']} chunks, "
              f"{r['skipped']} skipped)")
        print(f"| {'measure':<36} | {'seconds':>8} |\n|{'-' * 38}|{'-' * 10}|")
        print(f"| {'full ingest (pipeline)':<36} | {r['ingest_s']:>8.1f} |")
        print(f"| {'  of which inside the embedder':<36} | {r['embedding_inside_ingest_s']:>8.1f} |")
        print(f"| {'embedding the same chunks alone':<36} | {r['embedding_alone_s']:>8.1f} |")
        print(f"| {'ratio ingest / embedding alone':<36} | {r['ratio']:>8.3f} |  target <= 1.25")
    s = results["search"]
    print(f"\nSearch latency, k=10, {s['chunks']} chunks in the store, {s['queries']} queries "
          f"(store filled in {s['fill_s']:.0f} s)")
    print(f"| {'mode':<30} | {'p50 ms':>7} | {'p95 ms':>7} |\n|{'-' * 32}|{'-' * 9}|{'-' * 9}|")
    for name, row in s["latency"].items():
        print(f"| {name:<30} | {row['p50_ms']:>7.1f} | {row['p95_ms']:>7.1f} |")
    print("target: hybrid p50 < 20 ms (hybrid and dense include the query embedding, never cached)")
    print(f"first search after opening the store (builds the in-memory indexes): {s['first_search_s']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
