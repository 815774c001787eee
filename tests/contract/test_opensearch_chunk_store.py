"""The OpenSearch Serverless chunk store passes the same contract as the local store, against the
FAKE data plane in tests/fake_opensearch.py (moto does not emulate OpenSearch's data plane)."""

import pytest

from ragchat.adapters.aws.opensearch_store import OpenSearchChunkStore, cosine_from_score
from tests.contract.chunk_store_contract import EMBEDDER, ChunkStoreContract, put, record
from tests.fake_opensearch import FakeOpenSearch


class TestOpenSearchChunkStore(ChunkStoreContract):
    @pytest.fixture
    def store(self):
        store = OpenSearchChunkStore(FakeOpenSearch(), prefix="test")
        store.ensure_embedding_space(EMBEDDER.model_id, EMBEDDER.dimension)
        return store


def test_opensearch_store_never_sends_custom_ids_and_pages_through_deletes():
    client = FakeOpenSearch()
    store = OpenSearchChunkStore(client, prefix="test")
    store.ensure_embedding_space(EMBEDDER.model_id, EMBEDDER.dimension)
    texts = [f"part {i} of a long manual" for i in range(1200)]  # more hits than one search page
    put(store, record("big", "manual.md"), *texts)
    assert store.count_chunks() == 1200
    put(store, record("big", "manual.md", content_hash="h2"), "the short new version")
    assert store.count_chunks() == 1
    assert all("_id" not in action.get("index", {}) for kind, body in client.requests if kind == "bulk"
               for action in body if isinstance(action, dict) and "index" in action)


def test_opensearch_store_creates_the_index_with_faiss_hnsw_and_records_the_model():
    client = FakeOpenSearch()
    OpenSearchChunkStore(client, prefix="p").ensure_embedding_space("amazon.titan-embed-text-v2:0", 1024)
    mapping = client.indices.get_mapping(index="p-chunks")["p-chunks"]["mappings"]
    assert mapping["properties"]["vector"]["method"]["engine"] == "faiss"
    assert mapping["properties"]["vector"]["dimension"] == 1024
    assert mapping["_meta"] == {"embedding_model": "amazon.titan-embed-text-v2:0", "embedding_dimension": 1024}


def test_innerproduct_scores_convert_back_to_cosine():
    assert cosine_from_score(1.42) == pytest.approx(0.42)
    assert cosine_from_score(1 / (1 + 0.3)) == pytest.approx(-0.3)
