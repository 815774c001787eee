"""Label-free calibration of the fusion's dense weight: pseudo-questions from the corpus itself,
never answerable by the chunk they were copied from."""

from __future__ import annotations

import pytest

from ragchat.adapters.local.sqlite_store import SqliteChunkStore
from ragchat.evaluation.calibration import GRID, calibrate, pseudo_questions
from tests.contract.chunk_store_contract import EMBEDDER, put, record

TOPICS = ["glaciers carve deep valleys through ancient granite mountains",
          "volcanic eruptions release sulphur dioxide into the upper atmosphere",
          "coral reefs bleach when ocean temperatures stay high for weeks",
          "desert dunes migrate several metres every year with prevailing winds",
          "river deltas grow as sediment settles where currents slow down"]


@pytest.fixture
def store(tmp_path):
    store = SqliteChunkStore(tmp_path / "store.db")
    store.ensure_embedding_space(EMBEDDER.model_id, EMBEDDER.dimension)
    for n, topic in enumerate(TOPICS):
        put(store, record(f"d{n}", f"notes/{n}.md", chunk_count=2),
            f"Field notes number {n}: {topic}. The survey team measured it twice.",
            f"Later visits confirmed that {topic} in the region studied.")
    put(store, record("single", "notes/single.md", chunk_count=1), "A single chunk about nothing in particular here.")
    return store


def test_pseudo_questions_come_from_documents_of_two_chunks_and_are_their_own(store):
    picked = pseudo_questions(store, count=10)
    assert {doc for _, doc, _ in picked} == {f"d{n}" for n in range(len(TOPICS))}  # never "single"
    for sentence, doc_id, holding in picked:
        assert holding and all(sentence in " ".join(c.text.split()) for c in store.get_chunks(doc_id)
                               if c.chunk_id in holding)
        assert "The survey team measured it twice." not in sentence  # shared by every document: not its own


def test_calibration_never_lets_a_question_find_its_own_chunk(store, monkeypatch):
    from ragchat.evaluation import calibration

    fused_arms, fuse = [], calibration.convex_fusion
    monkeypatch.setattr(calibration, "convex_fusion",
                        lambda arms, weights, **options: fused_arms.append(arms) or fuse(arms, weights, **options))
    returned = []
    keyword = store.keyword_search
    monkeypatch.setattr(store, "keyword_search",
                        lambda q, k, f=None: returned.append(keyword(q, k, f)) or returned[-1])
    result = calibrate(store, EMBEDDER, current=0.8, questions=10)
    assert result.questions == len(TOPICS) and list(result.curve)[: len(GRID)] == GRID
    picked = pseudo_questions(store, 10)  # the same draw, in the same order
    for n, (_, _, holding) in enumerate(picked):
        assert any(h.chunk.chunk_id in holding for h in returned[n])  # the store found the own chunk...
        for arms in fused_arms[n * len(GRID):(n + 1) * len(GRID)]:  # ...and fusion never saw it
            assert not any(h.chunk.chunk_id in holding for hits in arms.values() for h in hits)


def test_calibration_of_an_empty_store_asks_nothing(tmp_path):
    store = SqliteChunkStore(tmp_path / "store.db")
    store.ensure_embedding_space(EMBEDDER.model_id, EMBEDDER.dimension)
    assert calibrate(store, EMBEDDER, current=0.8).questions == 0
