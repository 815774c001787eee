"""The relevance gate: better no answer than one built on passages unrelated to the question."""

from __future__ import annotations

from collections.abc import Callable

from ragchat.domain import ScoredChunk

RelevanceGate = Callable[[list[ScoredChunk]], list[ScoredChunk]]


def relevance_gate(min_similarity: float) -> RelevanceGate:
    """Nothing at all if no hit's cosine similarity to the question reaches `min_similarity`."""

    def relevant(hits: list[ScoredChunk]) -> list[ScoredChunk]:
        best_dense = max((h.arm_scores.get("dense", float("-inf")) for h in hits), default=float("-inf"))
        return hits if best_dense >= min_similarity else []

    return relevant
