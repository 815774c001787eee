import math

import pytest

from ragchat.evaluation.metrics import ndcg_at_k, percentile, recall_at_k


def test_ndcg_is_one_for_the_ideal_ranking_and_discounts_later_hits():
    judgements = {"a": 1, "b": 1}
    assert ndcg_at_k(["a", "b", "x"], judgements) == pytest.approx(1.0)
    expected = (1 / math.log2(3) + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert ndcg_at_k(["x", "a", "b"], judgements) == pytest.approx(expected)


def test_ndcg_uses_graded_gains_and_ignores_hits_past_k():
    assert ndcg_at_k(["b", "a"], {"a": 2, "b": 1}) == pytest.approx((1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3)))
    assert ndcg_at_k(["x"] * 10 + ["a"], {"a": 1}) == 0.0


def test_recall_counts_relevant_documents_found_in_the_top_k():
    assert recall_at_k(["a", "x", "b"], {"a": 1, "b": 1, "c": 1}, k=2) == pytest.approx(1 / 3)
    assert recall_at_k(["a"], {"a": 0}) == 0.0


def test_percentile_interpolates():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([5], 95) == 5
    assert math.isnan(percentile([], 50))
