from ragchat.domain import Chunk, ScoredChunk
from ragchat.retrieval.fusion import reciprocal_rank_fusion


def hits(*ids: str) -> list[ScoredChunk]:
    return [ScoredChunk(Chunk(chunk_id=i, doc_id="d", position=0, text=i, title="t"), score=1.0) for i in ids]


def test_rrf_scores_are_the_sum_of_reciprocal_ranks():
    fused = reciprocal_rank_fusion({"bm25": hits("a", "b"), "dense": hits("b", "c")}, k=60)
    scores = {h.chunk.chunk_id: h.score for h in fused}
    assert scores == {"b": 1 / 62 + 1 / 61, "a": 1 / 61, "c": 1 / 62}
    assert [h.chunk.chunk_id for h in fused] == ["b", "a", "c"]


def test_rrf_records_the_rank_from_each_arm():
    fused = reciprocal_rank_fusion({"bm25": hits("a", "b"), "dense": hits("b")}, k=60)
    assert {h.chunk.chunk_id: h.ranks for h in fused} == {"b": {"bm25": 2, "dense": 1}, "a": {"bm25": 1}}


def test_rrf_ties_keep_first_appearance_order():
    fused = reciprocal_rank_fusion({"bm25": hits("a"), "dense": hits("b")}, k=60)
    assert [h.chunk.chunk_id for h in fused] == ["a", "b"]


def test_rrf_weights_shift_the_balance():
    fused = reciprocal_rank_fusion({"bm25": hits("a"), "dense": hits("b")}, weights={"dense": 2.0}, k=60)
    assert [h.chunk.chunk_id for h in fused] == ["b", "a"]


def test_rrf_counts_a_repeated_chunk_once_per_arm_and_honours_limit():
    fused = reciprocal_rank_fusion({"bm25": hits("a", "a", "b", "c")}, k=60, limit=2)
    assert [(h.chunk.chunk_id, h.ranks) for h in fused] == [("a", {"bm25": 1}), ("b", {"bm25": 3})]


def test_rrf_of_nothing_is_nothing():
    assert reciprocal_rank_fusion({"bm25": [], "dense": []}, k=60) == []
