"""Retrieval as the settings build it: the fusion, the rerank stage and its clear errors."""

import pytest

from ragchat.bootstrap import build_fusion, build_reranking
from ragchat.config import Settings
from ragchat.errors import ConfigurationError
from ragchat.evaluation.retrieval import load_questions


def test_fusion_defaults_to_the_convex_combination_weighted_to_dense():
    fusion = build_fusion(Settings())
    assert (fusion.method, fusion.dense_weight) == ("convex", 0.8)
    assert build_fusion(Settings(fusion="rrf", rrf_k=10)).rrf_k == 10


@pytest.mark.parametrize("settings, message", [
    (Settings(fusion="borda"), "fusion must be one of convex, rrf"),
    (Settings(fusion_dense_weight=1.5), "between 0 and 1"),
])
def test_fusion_settings_out_of_range_are_refused(settings, message):
    with pytest.raises(ConfigurationError, match=message):
        build_fusion(settings)


def test_reranking_is_off_unless_configured():
    assert build_reranking(Settings()) is None


def test_reranking_over_http_is_built_from_the_settings():
    reranking = build_reranking(Settings(reranker="http", rerank_url="http://127.0.0.1:9/v1", rerank_model="m",
                                         rerank_candidates=30, rerank_budget_ms=800))
    assert reranking.reranker.name == "http:http://127.0.0.1:9/v1/rerank"
    assert (reranking.candidates, reranking.budget_s) == (30, 0.8)


@pytest.mark.parametrize("settings, message", [
    (Settings(reranker="http"), "RAGCHAT_RERANK_URL"),
    (Settings(reranker="cohere"), "is not one of"),
    (Settings(reranker="http", rerank_url="http://x", rerank_candidates=1), "at least 2"),
])
def test_reranking_settings_that_cannot_work_are_refused(settings, message):
    with pytest.raises(ConfigurationError, match=message):
        build_reranking(settings)


@pytest.mark.parametrize("line, message", [
    ('{"id": "q1", "question": "why?"}', "expected"),
    ('{"id": "q1", "question": "why?", "relevant": []}', "at least one relevant"),
    ("not json", "expected"),
])
def test_question_files_with_bad_lines_are_refused_with_the_line(tmp_path, line, message):
    path = tmp_path / "questions.jsonl"
    path.write_text('{"id": "q0", "question": "fine", "relevant": ["a.md"]}\n' + line + "\n")
    with pytest.raises(ConfigurationError, match=rf"questions.jsonl:2: .*{message}"):
        load_questions(path)
