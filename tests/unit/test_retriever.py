"""The hybrid retriever: arms side by side, fusion as configured, and a rerank stage that can only
ever help (a failing or late reranker leaves the fused order)."""

from __future__ import annotations

import threading
import time

import pytest

from ragchat.domain import Chunk, ScoredChunk
from ragchat.errors import InvalidQuery
from ragchat.retrieval.retriever import Fusion, HybridRetriever, Reranking


def hit(chunk_id: str, score: float) -> ScoredChunk:
    return ScoredChunk(Chunk(chunk_id=chunk_id, doc_id=chunk_id, position=0, text=f"text of {chunk_id}", title="t"),
                       score=score)


class ArmStore:
    """A FAKE store with fixed arm results; `meet` makes each arm wait for the other to start."""

    def __init__(self, keyword, vector, meet: bool = False):
        self.keyword, self.vector = keyword, vector
        self.meeting = threading.Barrier(2, timeout=5) if meet else None
        self.threads: dict[str, str] = {}

    def _arrive(self, arm):
        self.threads[arm] = threading.current_thread().name
        if self.meeting:
            self.meeting.wait()  # raises BrokenBarrierError if the arms run one after the other

    def keyword_search(self, query, k, filters=None):
        self._arrive("bm25")
        return self.keyword[:k]

    def vector_search(self, vector, k, filters=None):
        self._arrive("dense")
        return self.vector[:k]


class QueryEmbedder:
    model_id, dimension = "fake", 2

    def embed_query(self, text):
        return [1.0, 0.0]


class FakeReranker:
    """A FAKE reranker: scores from a table, or a failure, or an answer later than any budget."""

    name = "fake"

    def __init__(self, scores=None, error=None, delay_s=0.0):
        self.scores, self.error, self.delay_s = scores or {}, error, delay_s
        self.calls: list[list[str]] = []

    def rerank(self, query, passages, timeout_s):
        self.calls.append(list(passages))
        time.sleep(self.delay_s)
        if self.error:
            raise self.error
        return [self.scores.get(p.rsplit(" ", 1)[-1], 0.0) for p in passages]  # "... text of <id>"


KEYWORD = [hit("a", 9.0), hit("b", 4.0), hit("c", 1.0)]
VECTOR = [hit("b", 0.7), hit("c", 0.6), hit("d", 0.1)]


def retriever(reranker=None, budget_s=0.5, candidates=3, **store_options) -> HybridRetriever:
    fallbacks: list[str] = []
    reranking = (Reranking(reranker, candidates=candidates, budget_s=budget_s, on_fallback=fallbacks.append)
                 if reranker else None)
    made = HybridRetriever(ArmStore(KEYWORD, VECTOR, **store_options), QueryEmbedder(), candidates=10,
                           reranking=reranking)
    made.fallbacks = fallbacks
    return made


def ids(hits):
    return [h.chunk.chunk_id for h in hits]


# both arms returned fewer than asked, so each holds every match: "a" scored the vector arm's floor
# and "d" the keyword arm's, and d's cosine counts for more than a's BM25 at a dense weight of 0.8
FUSED = ["b", "c", "d", "a"]


def test_retriever_runs_the_two_arms_side_by_side():
    made = retriever(meet=True)
    assert ids(made.search("q", k=4)) == FUSED
    assert made.store.threads["bm25"] != made.store.threads["dense"]


def test_retriever_fuses_by_rank_when_configured():
    made = HybridRetriever(ArmStore(KEYWORD, VECTOR), QueryEmbedder(), candidates=10, fusion=Fusion("rrf"))
    assert ids(made.search("q", k=2)) == ["b", "c"]


def test_retriever_single_arm_modes_skip_fusion():
    made = retriever()
    assert ids(made.search("q", k=2, mode="bm25")) == ["a", "b"]
    assert ids(made.search("q", k=2, mode="dense")) == ["b", "c"]


def test_retriever_reranks_the_top_candidates_and_keeps_the_rest_after():
    reranker = FakeReranker({"d": 0.9, "b": 0.1, "c": 0.5})
    made = retriever(reranker, candidates=3)
    found = made.search("q", k=4)
    assert ids(found) == ["d", "c", "b", "a"]
    assert found[0].ranks["rerank"] == 1 and found[0].arm_scores["rerank"] == 0.9
    assert len(reranker.calls[0]) == 3 and made.fallbacks == []
    assert ids(made.search("q", k=4, rerank=False)) == FUSED


@pytest.mark.parametrize("reranker, reason", [
    (FakeReranker(error=RuntimeError("503 from the endpoint")), "RuntimeError: 503 from the endpoint"),
    (FakeReranker(delay_s=1.0), "no answer within 0.2 s"),
])
def test_retriever_keeps_the_fused_order_when_the_reranker_fails_or_is_late(reranker, reason):
    made = retriever(reranker, budget_s=0.2)
    started = time.monotonic()
    assert ids(made.search("q", k=4)) == FUSED
    assert time.monotonic() - started < 0.9  # the budget, not the reranker, set the wait
    assert made.fallbacks == [reason]


def test_retriever_refuses_a_reranker_that_scores_the_wrong_number_of_passages():
    class Short(FakeReranker):
        def rerank(self, query, passages, timeout_s):
            return [1.0]

    made = retriever(Short())
    assert ids(made.search("q", k=4)) == FUSED
    assert made.fallbacks == ["ValueError: 1 scores for 3 passages"]


def test_retriever_refuses_a_reranker_that_leaves_a_passage_out():
    class LeavesOut(FakeReranker):
        def rerank(self, query, passages, timeout_s):
            return [1.0, float("nan"), 0.5]  # what the adapters give for a passage without a score

    made = retriever(LeavesOut())
    assert ids(made.search("q", k=4)) == FUSED
    assert made.fallbacks == ["ValueError: a passage left out, or a score that is not a finite number"]


def test_retriever_late_reranker_calls_never_hold_up_later_searches():
    """A late call keeps running after its budget (it cannot be cancelled); later searches must not
    queue behind such calls, neither their keyword arm nor their own rerank."""
    reranker = FakeReranker(delay_s=1.5)
    made = retriever(reranker, budget_s=0.05)
    times = []
    for _ in range(8):  # twice as many as may run at once
        started = time.monotonic()
        assert ids(made.search("q", k=4)) == FUSED
        times.append(time.monotonic() - started)
    assert max(times) < 0.5, times
    assert len(reranker.calls) == 4  # the rest kept the fused order without calling
    assert made.fallbacks[-1] == "4 earlier calls are still running"


@pytest.mark.parametrize("query, k, mode, message", [
    ("", 5, "hybrid", "empty"), ("q", 0, "hybrid", "k must be"), ("q", 5, "fuzzy", "mode must be"),
    ("x" * 9000, 5, "hybrid", "longer than"),
])
def test_retriever_refuses_bad_queries(query, k, mode, message):
    with pytest.raises(InvalidQuery, match=message):
        retriever().search(query, k=k, mode=mode)
