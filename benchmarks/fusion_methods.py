"""Fusion methods side by side: every method tried for the hybrid default, each with its one
parameter tuned on SciFact's train split only, scored on the test split, on sets where one arm is
much weaker than the other, and on the portfolio questions.

    python benchmarks/fusion_methods.py [--scifact DIR] [--portfolio DIR] [--data DIR]

Both arms run once per query to depth 300 over a store ingested through the real pipeline (kept in
--data between runs); every method is then scored from those lists, so the table compares fusion
and nothing else. The shipped fusion is called as ragchat ships it (ragchat.retrieval.fusion).

The weak-arm sets use SciFact's test labels but hand one arm a degraded query: "BM25 weak r" gives
the keyword arm the claim with typos in a share r of its words (4+ letters) while the vector arm
sees it clean, so dense is far better, as on natural-language questions over prose; "dense weak"
is the reverse. A hybrid default must not fall below the better arm on either.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "ragchat"))

from ragchat.bootstrap import build_core
from ragchat.config import Settings
from ragchat.domain import Chunk, ScoredChunk
from ragchat.evaluation.beir import BeirCorpusSource, load_beir
from ragchat.evaluation.metrics import ndcg_at_k, recall_at_k
from ragchat.evaluation.retrieval import load_questions
from ragchat.retrieval.fusion import convex_fusion, reciprocal_rank_fusion

DEPTH = 300
GRID = [round(0.05 * i, 2) for i in range(21)]
Hits = list[tuple[str, str, float]]  # (chunk id, document, raw score), best first
WORD = re.compile(r"[A-Za-z]{4,}")


def typo(text: str, rng: random.Random, share: float) -> str:
    """One edit (swap, drop, double or replace a letter) in about `share` of the words of 4+ letters."""
    def corrupt(match):
        word = match.group(0)
        if rng.random() > share:
            return word
        i, kind = rng.randrange(1, len(word) - 1), rng.randrange(4)
        return [word[:i] + word[i + 1] + word[i] + word[i + 2:], word[:i] + word[i + 1:],
                word[:i] + word[i] + word[i:], word[:i] + rng.choice("abcdefghijklmnopqrstuvwxyz") + word[i + 1:]][kind]
    return WORD.sub(corrupt, text)


# -- the methods: each takes two lists of (chunk id, score) and returns fused chunk ids --------------
def _scored(hits) -> list[ScoredChunk]:
    return [ScoredChunk(Chunk(chunk_id=c, doc_id=c, position=0, text="", title=""), score=s) for c, s in hits]


def shipped_convex(alpha: float):
    return lambda bm, de: [h.chunk.chunk_id for h in convex_fusion(
        {"bm25": _scored(bm), "dense": _scored(de)}, {"dense": alpha, "bm25": 1 - alpha}, depth=DEPTH)]


def shipped_rrf(k: float, dense_weight: float = 0.5):
    return lambda bm, de: [h.chunk.chunk_id for h in reciprocal_rank_fusion(
        {"bm25": _scored(bm), "dense": _scored(de)}, k=int(k), weights={"bm25": 2 * (1 - dense_weight),
                                                                         "dense": 2 * dense_weight})]


def _normalised(hits, how: str, floor: float):
    values = [s for _, s in hits]
    if not values:
        return {}, 0.0
    if how == "minmax":
        low, high = min(values), max(values)
    elif how == "zscore":
        mean = sum(values) / len(values)
        spread = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)) or 1.0
        return {c: (s - mean) / spread for c, s in hits}, (values[-1] - mean) / spread
    else:
        raise ValueError(how)
    span = high - low
    scaled = {c: (s - low) / span if span > 0 else 1.0 for c, s in hits}
    return scaled, scaled[hits[-1][0]]


def other_convex(how: str, alpha: float):
    """Convex combination with another normalisation: per-query min-max, or z-score."""
    def fuse(bm, de):
        nb, mb = _normalised(bm, how, 0.0)
        nd, md = _normalised(de, how, -1.0)
        ids = list(nb) + [c for c in nd if c not in nb]
        scores = {c: alpha * nd.get(c, md) + (1 - alpha) * nb.get(c, mb) for c in ids}
        return sorted(ids, key=lambda c: -scores[c])
    return fuse


FAMILIES: dict[str, Callable[[float], Callable]] = {
    "RRF, k tuned (weights equal)": shipped_rrf,
    "weighted RRF k=60, dense weight tuned": lambda w: shipped_rrf(60, w),
    "convex, per-query min-max, weight tuned": lambda a: other_convex("minmax", a),
    "convex, z-score, weight tuned": lambda a: other_convex("zscore", a),
    "convex, TM2C2 (shipped), weight tuned": shipped_convex,
}
FAMILY_GRIDS = {"RRF, k tuned (weights equal)": [1, 5, 10, 20, 40, 60, 80, 100]}


# -- running the arms once, and scoring ---------------------------------------------------------------
def arms(core, queries: dict[str, str], bm25_queries: dict[str, str] | None = None,
         dense_queries: dict[str, str] | None = None) -> dict[str, tuple[Hits, Hits]]:
    out = {}
    for qid in queries:
        keyword = core.retriever.search((bm25_queries or queries)[qid], k=DEPTH, mode="bm25")
        vector = core.retriever.search((dense_queries or queries)[qid], k=DEPTH, mode="dense")
        out[qid] = ([(h.chunk.chunk_id, h.chunk.path, h.score) for h in keyword],
                    [(h.chunk.chunk_id, h.chunk.path, h.score) for h in vector])
    return out


def score(method, lists: dict[str, tuple[Hits, Hits]], qrels) -> tuple[float, float]:
    ndcgs, recalls = [], []
    for qid, (bm, de) in lists.items():
        doc_of = {c: d for c, d, _ in bm + de}
        if method == "bm25":
            ranked_chunks = [c for c, _, _ in bm]
        elif method == "dense":
            ranked_chunks = [c for c, _, _ in de]
        else:
            ranked_chunks = method([(c, s) for c, _, s in bm], [(c, s) for c, _, s in de])
        documents = list(dict.fromkeys(doc_of[c] for c in ranked_chunks))
        ndcgs.append(ndcg_at_k(documents, qrels[qid], 10))
        recalls.append(recall_at_k(documents, qrels[qid], 100))
    return sum(ndcgs) / len(ndcgs), sum(recalls) / len(recalls)


def tuned(family: str, lists, qrels) -> float:
    values = FAMILY_GRIDS.get(family, GRID)
    return max(values, key=lambda v: (round(score(FAMILIES[family](v), lists, qrels)[0], 4), -abs(v - values[0])))


def core_over(data: Path, name: str, source):
    core = build_core(Settings(data_dir=data / name))
    # sync, not "ingest if empty": an interrupted first run leaves a partial store, and sync only
    # embeds what the store does not hold yet
    print(f"syncing {name} into {data / name} (kept for the next run)", file=sys.stderr)
    core.pipeline.sync(source)
    core.embedder.embed_query("warm up")
    return core


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scifact", type=Path, default=ROOT.parent / "shared" / "datasets" / "scifact")
    parser.add_argument("--portfolio", type=Path, default=ROOT.parent / "shared" / "datasets" / "portfolio")
    parser.add_argument("--questions", type=Path, default=ROOT / "benchmarks" / "portfolio_questions.jsonl")
    parser.add_argument("--data", type=Path, default=ROOT / ".ragchat-bench")
    parser.add_argument("--json", type=Path, help="also write the table as JSON here")
    args = parser.parse_args()
    if not (args.scifact / "corpus.jsonl").is_file():
        print(f"no SciFact dataset at {args.scifact}: nothing to measure", file=sys.stderr)
        return 0

    test, train = load_beir(args.scifact, "test"), load_beir(args.scifact, "train")
    scifact = core_over(args.data, "scifact", BeirCorpusSource(test))
    sets: dict[str, tuple[dict, dict]] = {
        "SciFact test": (arms(scifact, test.queries), test.qrels),
        "SciFact train": (arms(scifact, train.queries), train.qrels),
    }
    for share in (0.6, 1.0):
        noisy = {q: typo(t, random.Random(f"{q}{share}"), share) for q, t in test.queries.items()}
        sets[f"BM25 weak {share}"] = (arms(scifact, test.queries, bm25_queries=noisy), test.qrels)
    noisy = {q: typo(t, random.Random(f"{q}0.6"), 0.6) for q, t in test.queries.items()}
    sets["dense weak 0.6"] = (arms(scifact, test.queries, dense_queries=noisy), test.qrels)
    portfolio_root = args.portfolio / "projects"
    if portfolio_root.is_dir() and args.questions.is_file():
        from ragchat.adapters.local.folder import FolderSource

        questions = load_questions(args.questions)
        portfolio = core_over(args.data, "portfolio", FolderSource(portfolio_root))
        sets["portfolio questions"] = (arms(portfolio, questions.queries), questions.qrels)
    else:
        print(f"no portfolio corpus at {portfolio_root}: its column is left out", file=sys.stderr)

    train_lists, train_qrels = sets["SciFact train"]
    rows: list[tuple[str, dict[str, tuple[float, float]]]] = [
        ("BM25 alone", {name: score("bm25", *pair) for name, pair in sets.items()}),
        ("dense alone", {name: score("dense", *pair) for name, pair in sets.items()}),
        ("RRF k=60 (the old default)", {name: score(shipped_rrf(60), *pair) for name, pair in sets.items()}),
    ]
    for family, make in FAMILIES.items():
        value = tuned(family, train_lists, train_qrels)
        method = make(value)
        rows.append((f"{family}: {value}", {name: score(method, *pair) for name, pair in sets.items()}))

    names = list(sets)
    print(f"nDCG@10 (Recall@100 for SciFact test), each method's parameter tuned on SciFact train; depth {DEPTH}\n")
    print("| method | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
    for label, results in rows:
        cells = [f"{results[n][0]:.3f}" + (f" ({results[n][1]:.3f})" if n == "SciFact test" else "") for n in names]
        print(f"| {label} | " + " | ".join(cells) + " |")
    better = {n: max(rows[0][1][n][0], rows[1][1][n][0]) for n in names}
    shipped = next(r for label, r in rows if label.startswith("convex, TM2C2"))
    print("\nthe shipped fusion against the better single arm: " + ", ".join(
        f"{n} {shipped[n][0] - better[n]:+.3f}" for n in names))
    if args.json:
        args.json.write_text(json.dumps({label: {n: list(v) for n, v in r.items()} for label, r in rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
