"""Fusion of the keyword and vector arms, shared by every store (SQLite and OpenSearch feed the
same code). The default is a convex combination of scores normalised by each arm's theoretical
minimum and its top score for the query (TM2C2, Bruch, Gai & Ingber, "An Analysis of Fusion
Functions for Hybrid Retrieval", ACM TOIS 2023); reciprocal rank fusion is kept for comparison.
docs/retrieval.md has the measurements behind the choice."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ragchat.domain import ScoredChunk

# the lowest score each arm can give: BM25 scores are non-negative, cosine similarity is >= -1
THEORETICAL_MINIMUM = {"bm25": 0.0, "dense": -1.0}
DENSE_WEIGHT = 0.8  # chosen on SciFact's train split only; flat between 0.7 and 0.85 (docs/retrieval.md)


def reciprocal_rank_fusion(
    arms: Mapping[str, Sequence[ScoredChunk]], k: int, weights: Mapping[str, float] | None = None,
    limit: int | None = None,
) -> list[ScoredChunk]:
    """Fuse ranked lists by sum of weight / (k + rank); ties keep the order of first appearance.
    (k = 60 is the constant of Cormack, Clarke and Buettcher, SIGIR 2009.)

    Each result carries the rank it had in every arm that found it, so callers can explain it.
    """
    scores: dict[str, float] = {}
    ranks: dict[str, dict[str, int]] = {}
    arm_scores: dict[str, dict[str, float]] = {}
    chunks = {}
    for arm, results in arms.items():
        weight = 1.0 if weights is None else weights.get(arm, 1.0)
        for rank, result in enumerate(results, start=1):
            chunk_id = result.chunk.chunk_id
            if chunk_id in ranks and arm in ranks[chunk_id]:
                continue  # a list that repeats a chunk counts its best rank only
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight / (k + rank)
            ranks.setdefault(chunk_id, {})[arm] = rank
            arm_scores.setdefault(chunk_id, {})[arm] = result.arm_scores.get(arm, result.score)
            chunks.setdefault(chunk_id, result.chunk)
    order = sorted(scores, key=lambda cid: -scores[cid])
    if limit is not None:
        order = order[:limit]
    return [ScoredChunk(chunk=chunks[cid], score=scores[cid], ranks=ranks[cid], arm_scores=arm_scores[cid])
            for cid in order]


def convex_fusion(arms: Mapping[str, Sequence[ScoredChunk]], weights: Mapping[str, float],
                  limit: int | None = None, depth: int | None = None) -> list[ScoredChunk]:
    """sum over arms of weight x (score - the arm's theoretical minimum) / (the arm's top score for
    this query - that minimum).

    Unlike ranks or a per-query min-max, this keeps the shape of each arm's list: an arm that is
    unsure (a flat list, all its hits about as weak as its best) spreads its candidates over a
    narrow band and moves the fused order little, while an arm with a clear winner moves it a lot.
    So a weak arm is discounted query by query, with no extra parameter. A chunk an arm did not
    return gets that arm's lowest returned score (its true score is at most that), unless the arm
    returned fewer than the `depth` it was asked for: then its list holds every match (a keyword
    arm lists only chunks that share a term with the query), and a chunk missing from it scored the
    arm's floor. Ties keep the order of first appearance, arm by arm in the order given.
    """
    normalised: dict[str, dict[str, float]] = {}
    missing: dict[str, float] = {}
    ranks: dict[str, dict[str, int]] = {}
    arm_scores: dict[str, dict[str, float]] = {}
    chunks = {}
    for arm, results in arms.items():
        floor = THEORETICAL_MINIMUM.get(arm, 0.0)
        raw: dict[str, float] = {}
        for rank, result in enumerate(results, start=1):
            chunk_id = result.chunk.chunk_id
            if chunk_id in raw:
                continue  # a list that repeats a chunk counts its best score only
            raw[chunk_id] = result.score
            ranks.setdefault(chunk_id, {})[arm] = rank
            arm_scores.setdefault(chunk_id, {})[arm] = result.arm_scores.get(arm, result.score)
            chunks.setdefault(chunk_id, result.chunk)
        if not raw:
            continue
        span = max(raw.values()) - floor
        normalised[arm] = {cid: (score - floor) / span if span > 0 else 1.0 for cid, score in raw.items()}
        exhaustive = depth is not None and len(results) < depth
        missing[arm] = 0.0 if exhaustive else min(normalised[arm].values())
    fused = {cid: sum(weights.get(arm, 0.0) * scaled.get(cid, missing[arm]) for arm, scaled in normalised.items())
             for cid in chunks}
    order = sorted(fused, key=lambda cid: -fused[cid])
    if limit is not None:
        order = order[:limit]
    return [ScoredChunk(chunk=chunks[cid], score=fused[cid], ranks=ranks[cid], arm_scores=arm_scores[cid])
            for cid in order]
