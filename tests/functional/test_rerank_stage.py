"""The rerank stage end to end: a real store, the retriever the settings build, and a FAKE
Cohere-style rerank endpoint over a real socket that prefers whatever mentions "glaciers"."""

from __future__ import annotations

import logging
import time

import pytest
from fastapi import FastAPI, Request

from ragchat.adapters.local.sqlite_store import SqliteChunkStore
from ragchat.bootstrap import build_core
from ragchat.config import Settings
from tests.contract.chunk_store_contract import EMBEDDER, put, record
from tests.support.servers import running


@pytest.fixture
def endpoint():
    app, state = FastAPI(), {"delay_s": 0.0, "calls": 0}

    @app.post("/v1/rerank")
    async def rerank(request: Request):
        import asyncio

        state["calls"] += 1
        await asyncio.sleep(state["delay_s"])
        body = await request.json()
        return {"results": [{"index": i, "relevance_score": float("glaciers" in d)}
                            for i, d in enumerate(body["documents"])]}

    with running(app) as address:
        yield f"http://{address}", state


@pytest.fixture
def store(tmp_path):
    store = SqliteChunkStore(tmp_path / "store.db")
    store.ensure_embedding_space(EMBEDDER.model_id, EMBEDDER.dimension)
    put(store, record("d1", "a.md"), "rivers of ice carve valleys slowly")
    put(store, record("d2", "b.md"), "glaciers are rivers of ice")
    put(store, record("d3", "c.md"), "deserts get little rain")
    return store


def search(store, url, budget_ms=1000):
    settings = Settings(reranker="http", rerank_url=url, rerank_budget_ms=budget_ms, rerank_candidates=3)
    return build_core(settings, store=store, embedder=EMBEDDER).retriever


def test_rerank_stage_reorders_what_the_endpoint_prefers(endpoint, store):
    url, state = endpoint
    retriever = search(store, url)
    plain = [h.chunk.path for h in retriever.search("rivers of ice carve valleys", k=2, rerank=False)]
    reranked = retriever.search("rivers of ice carve valleys", k=2)
    assert plain[0] == "a.md" and reranked[0].chunk.path == "b.md" and state["calls"] == 1
    assert reranked[0].ranks["rerank"] == 1 and "dense" in reranked[0].arm_scores  # the gate still sees cosine


def test_rerank_stage_late_or_down_keeps_the_fused_order(endpoint, store, caplog):
    url, state = endpoint
    state["delay_s"] = 2.0
    retriever = search(store, url, budget_ms=300)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        late = [h.chunk.path for h in retriever.search("rivers of ice carve valleys", k=2)]
    assert time.monotonic() - started < 1.5 and late[0] == "a.md"
    down = [h.chunk.path for h in search(store, "http://127.0.0.1:9").search("rivers of ice carve valleys", k=2)]
    assert down[0] == "a.md"
    assert "fused order kept: no answer within 0.3 s" in caplog.text
