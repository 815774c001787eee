"""Rank fusion shared by every store: the local SQLite store and OpenSearch feed the same code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ragchat.domain import ScoredChunk


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
