"""The OpenSearch Serverless chunk store (records in DynamoDB under moto) passes the same contract as
the local store, against the FAKE data plane in tests/fake_opensearch.py with a 60-second search
visibility delay, as classic vector collections have."""

import json
from dataclasses import asdict, replace

import pytest

from ragchat.adapters.aws.opensearch_store import cosine_from_score
from tests.contract.chunk_store_contract import (
    EMBEDDER,
    ORDER_A,
    ORDER_B,
    ORDER_C,
    ChunkStoreContract,
    put,
    record,
    written,
)
from tests.fake_opensearch import FakeOpenSearchEngine
from tests.support.aws import FakeClock, opensearch_store

VISIBILITY_S = 60


class TestOpenSearchChunkStore(ChunkStoreContract):
    @pytest.fixture
    def store(self, aws):
        clock = FakeClock()
        store = opensearch_store(FakeOpenSearchEngine(visibility_delay=VISIBILITY_S, clock=clock))
        store.ensure_embedding_space(EMBEDDER.model_id, EMBEDDER.dimension)
        return store

    def settle(self, store) -> None:
        store.clock.advance(VISIBILITY_S + 1)


def test_innerproduct_scores_convert_back_to_cosine():
    assert cosine_from_score(1.42) == pytest.approx(0.42)
    assert cosine_from_score(1 / (1 + 0.3)) == pytest.approx(-0.3)


# -- what only a store with delayed visibility, no custom ids and a 10,000-hit window must get right --
@pytest.fixture
def slow(aws):
    """A store over a FAKE collection that shows writes 60 s late, on a fake clock."""
    clock = FakeClock()
    engine = FakeOpenSearchEngine(visibility_delay=VISIBILITY_S, clock=clock)
    swept: list[str] = []
    store = opensearch_store(engine, schedule_sweep=swept.append, sweep_after_s=900)
    store.ensure_embedding_space(EMBEDDER.model_id, EMBEDDER.dimension)
    return store, engine, clock, swept


def texts_found(store, query: str) -> list[str]:
    return [h.chunk.text for h in store.keyword_search(query, k=20)]


def test_opensearch_store_shows_a_write_only_after_the_visibility_delay(slow):
    store, _, clock, _ = slow
    put(store, record("d1", "a.md"), "zebras graze at dawn")
    assert texts_found(store, "zebras") == []
    clock.advance(VISIBILITY_S + 1)
    assert texts_found(store, "zebras") == ["zebras graze at dawn"]


def test_opensearch_store_hides_then_sweeps_what_a_write_that_crashed_before_committing_left(slow):
    store, engine, clock, swept = slow
    crashed = replace(record("d1", "a.md", content_hash="old", order=ORDER_A), generation="crashed")
    store._index_chunks(crashed, *written(crashed, "zebras of the crashed write")[1:])  # indexed, never committed
    put(store, record("d1", "a.md", content_hash="new", order=ORDER_B), "zebras of the newer write")
    clock.advance(VISIBILITY_S + 1)  # now both are searchable in the collection
    assert engine.count("test-chunks")["count"] == 2
    assert texts_found(store, "zebras") == ["zebras of the newer write"]  # the stale generation never ranks
    assert swept == ["d1"]  # the delayed sweep was asked for when the chunks were indexed
    assert store.sweep("d1") == 1
    clock.advance(VISIBILITY_S + 1)
    assert engine.count("test-chunks")["count"] == 1


def test_opensearch_store_sweep_spares_a_newer_write_in_flight_until_it_is_long_over(slow):
    store, _, clock, _ = slow
    put(store, record("d1", "a.md", order=ORDER_A), "zebras as they were")
    in_flight = replace(record("d1", "a.md", content_hash="new", order=ORDER_C), generation="in-flight")
    store._index_chunks(in_flight, *written(in_flight, "zebras as they will be")[1:])
    clock.advance(VISIBILITY_S + 1)
    assert store.sweep("d1") == 0  # it may still commit: its chunks stay
    clock.advance(900)
    assert store.sweep("d1") == 1  # far longer than any write takes: it will never commit
    clock.advance(VISIBILITY_S + 1)
    assert texts_found(store, "zebras") == ["zebras as they were"]


def test_opensearch_store_an_older_write_that_loses_removes_its_own_chunks_at_once(slow):
    store, engine, clock, _ = slow
    put(store, record("d1", "a.md", order=ORDER_B), "the standing text")
    late = written(record("d1", "a.md", content_hash="late", order=ORDER_A), "the late text")
    assert store.replace_documents([late]) == ["d1"]
    clock.advance(VISIBILITY_S + 1)
    assert engine.count("test-chunks")["count"] == 1  # deleted by the ids its bulk answered, no search needed


def test_opensearch_store_never_sends_custom_ids_or_refresh(slow):
    store, engine, _, _ = slow
    put(store, record("d1", "a.md"), "one", "two")
    actions = [a for kind, body in engine.requests if kind == "bulk" for a in body if "index" in a]
    assert actions and all("_id" not in a["index"] for a in actions)
    assert not [kind for kind, _ in engine.requests if "refresh" in kind]


def test_opensearch_store_replaces_a_document_past_the_10000_hit_window(slow):
    store, engine, clock, _ = slow
    texts = [f"part {i} of a very long manual" for i in range(15_000)]
    put(store, record("big", "manual.md"), *texts)
    clock.advance(VISIBILITY_S + 1)
    assert len(store.get_chunks("big")) == 15_000  # paged with a point in time, not from/size
    put(store, record("big", "manual.md", content_hash="h2"), "the short new version")
    clock.advance(VISIBILITY_S + 1)
    assert engine.count("test-chunks")["count"] == 1
    assert [c.text for c in store.get_chunks("big")] == ["the short new version"]
    assert max(body.get("from", 0) + body.get("size", 10) for kind, body in engine.requests
               if kind == "search") <= 10_000


def test_opensearch_store_lists_12000_documents(aws):
    store = opensearch_store()
    client = store.records.client
    items = [store.records._item({**asdict(record(f"d{i:05d}", f"notes/n{i:05d}.md")), "updated_at": 1.0})
             for i in range(12_000)]
    for start in range(0, len(items), 25):
        client.batch_write_item(RequestItems={"documents": [{"PutRequest": {"Item": item}}
                                                            for item in items[start:start + 25]]})
    listed = store.list_documents()
    assert len(listed) == 12_000 and listed[0].path == "notes/n00000.md"
    assert len(store.list_documents(uri_prefix="file:///corpus/notes/n01")) == 1000


def test_opensearch_store_two_first_writers_race_to_create_the_index(aws):
    clock = FakeClock()
    engine = FakeOpenSearchEngine(index_ready_delay=30, clock=clock)
    first = opensearch_store(engine, sleep=clock.advance)
    second = opensearch_store(engine, sleep=clock.advance)
    assert first.keyword_search("anything", 5) == []  # no index yet: nothing found, no error
    first.ensure_embedding_space(EMBEDDER.model_id, EMBEDDER.dimension)  # waits until it answers
    second.ensure_embedding_space(EMBEDDER.model_id, EMBEDDER.dimension)  # "already exists" is fine
    put(second, record("d1", "a.md"), "zebras")
    assert texts_found(first, "zebras") == ["zebras"]
    mapping = engine.get_mapping("test-chunks")["test-chunks"]["mappings"]["properties"]
    assert mapping["vector"]["method"]["engine"] == "faiss" and mapping["vector"]["dimension"] == EMBEDDER.dimension
    assert {mapping[name]["type"] for name in ("generation", "order")} == {"keyword"}


def test_opensearch_store_waits_out_throttling(aws):
    engine = FakeOpenSearchEngine()
    naps: list[float] = []
    store = opensearch_store(engine, sleep=naps.append)
    store.ensure_embedding_space(EMBEDDER.model_id, EMBEDDER.dimension)
    engine.throttle(3)
    put(store, record("d1", "a.md"), "zebras")
    assert texts_found(store, "zebras") == ["zebras"] and len(naps) == 3


def test_opensearch_store_cuts_bulk_requests_below_the_size_limit(aws, monkeypatch):
    from ragchat.adapters.aws import opensearch_store as module

    monkeypatch.setattr(module, "BULK_BYTES", 20_000)
    engine = FakeOpenSearchEngine()
    store = opensearch_store(engine)
    store.ensure_embedding_space(EMBEDDER.model_id, EMBEDDER.dimension)
    put(store, record("d1", "a.md"), *[f"paragraph {i} " + "words " * 200 for i in range(40)])
    bulks = [body for kind, body in engine.requests if kind == "bulk" and any("index" in a for a in body)]
    assert len(bulks) > 1 and all(len(json.dumps(b)) < 60_000 for b in bulks)
    assert engine.count("test-chunks")["count"] == 40
