import pytest
from hypothesis import given
from hypothesis import strategies as st

from ragchat.domain import Chunk, ScoredChunk
from ragchat.retrieval.fusion import convex_fusion, reciprocal_rank_fusion


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


# -- convex fusion (TM2C2): scores normalised by each arm's floor and top ----------------------------
def scored(*pairs: tuple[str, float]) -> list[ScoredChunk]:
    return [ScoredChunk(Chunk(chunk_id=i, doc_id="d", position=0, text=i, title="t"), score=s) for i, s in pairs]


def order(fused: list[ScoredChunk]) -> list[str]:
    return [h.chunk.chunk_id for h in fused]


WEIGHTS = {"dense": 0.8, "bm25": 0.2}


def test_convex_scores_are_the_weighted_sum_of_floor_to_top_normalised_scores():
    fused = convex_fusion({"bm25": scored(("a", 10.0), ("b", 5.0)), "dense": scored(("b", 0.6), ("c", 0.2))}, WEIGHTS)
    scores = {h.chunk.chunk_id: h.score for h in fused}
    assert scores["b"] == pytest.approx(0.2 * 0.5 + 0.8 * 1.0)
    assert scores["a"] == pytest.approx(0.2 * 1.0 + 0.8 * (0.2 + 1) / 1.6)  # dense's lowest for what it missed
    assert scores["c"] == pytest.approx(0.2 * 0.5 + 0.8 * (0.2 + 1) / 1.6)
    assert order(fused) == ["b", "a", "c"]
    assert fused[0].ranks == {"bm25": 2, "dense": 1} and fused[0].arm_scores == {"bm25": 5.0, "dense": 0.6}


def test_convex_a_flat_unsure_arm_moves_the_order_little():
    """BM25 finds the words everywhere (a flat list); the vector arm has a clear winner. Ranks would
    give BM25's first hit full credit; its score barely stands out, so it barely counts."""
    bm25 = scored(("a", 10.0), ("b", 9.9), ("c", 9.8))
    dense = scored(("c", 0.9), ("b", 0.3), ("a", 0.2))
    assert order(convex_fusion({"bm25": bm25, "dense": dense}, {"dense": 0.5, "bm25": 0.5}))[0] == "c"
    assert order(reciprocal_rank_fusion({"bm25": bm25, "dense": dense}, k=60))[0] != "c"


def test_convex_one_arm_alone_keeps_its_order():
    assert order(convex_fusion({"bm25": scored(("a", 3.0), ("b", 2.0)), "dense": []}, WEIGHTS)) == ["a", "b"]
    assert order(convex_fusion({"bm25": [], "dense": scored(("x", 0.1), ("y", -0.5))}, WEIGHTS)) == ["x", "y"]
    assert convex_fusion({"bm25": [], "dense": []}, WEIGHTS) == []


def test_convex_counts_a_repeated_chunk_once_and_honours_the_limit():
    fused = convex_fusion({"bm25": scored(("a", 3.0), ("a", 1.0), ("b", 2.0))}, {"bm25": 1.0}, limit=1)
    assert order(fused) == ["a"] and fused[0].score == pytest.approx(1.0)


bm25_lists = st.lists(st.tuples(st.sampled_from("abcdefgh"), st.floats(0.01, 50)), max_size=8)
dense_lists = st.lists(st.tuples(st.sampled_from("defghijk"), st.floats(-1, 1)), max_size=8)


def by_score(pairs):
    return scored(*sorted(pairs, key=lambda p: -p[1]))


@given(bm25_lists, dense_lists, st.floats(0.1, 100))
def test_convex_is_blind_to_the_scale_of_bm25_scores(bm25, dense, factor):
    """BM25 scores have no fixed scale (they grow with the collection and the query): multiplying
    them all by a constant must not change the fused order."""
    arms = {"bm25": by_score(bm25), "dense": by_score(dense)}
    scaled = {"bm25": by_score([(c, s * factor) for c, s in bm25]), "dense": by_score(dense)}
    plain, rescaled = convex_fusion(arms, WEIGHTS), convex_fusion(scaled, WEIGHTS)
    assert [round(h.score, 9) for h in plain] == [round(h.score, 9) for h in rescaled]
    assert sorted(order(plain)) == sorted({c for c, _ in bm25} | {c for c, _ in dense})


def test_convex_keyword_arm_shorter_than_asked_holds_every_match():
    """An error code found in one chunk only: the keyword arm returns that one hit out of 100 asked,
    so every other chunk scored its floor, and the one exact match must not be flattened."""
    keyword = scored(("ERR_CONN_RESET-runbook", 5.0))
    vector = scored(("x", 0.5), ("y", 0.45), ("ERR_CONN_RESET-runbook", 0.40))
    exhaustive = convex_fusion({"bm25": keyword, "dense": vector}, WEIGHTS, depth=100)
    assert order(exhaustive)[0] == "ERR_CONN_RESET-runbook"
    # a list as long as asked may have cut off matches: a missing chunk gets the arm's lowest score
    truncated = convex_fusion({"bm25": keyword, "dense": vector}, WEIGHTS, depth=1)
    assert order(truncated)[0] == "x"
