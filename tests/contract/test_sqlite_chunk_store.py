import multiprocessing
import sqlite3

import pytest

from ragchat.adapters.local.sqlite_store import SqliteChunkStore
from tests.contract.chunk_store_contract import EMBEDDER, ChunkStoreContract, put, record


class TestSqliteChunkStore(ChunkStoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        store = SqliteChunkStore(tmp_path / "store.db")
        store.ensure_embedding_space(EMBEDDER.model_id, EMBEDDER.dimension)
        yield store
        store.close()


def _die_mid_transaction(path: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("DELETE FROM chunks")
    conn.execute("DELETE FROM documents")
    import os

    os._exit(1)  # the process dies before COMMIT, as in a crash or a kill -9


def test_sqlite_store_reopens_intact_after_a_crash_mid_write(tmp_path):
    path = tmp_path / "store.db"
    store = SqliteChunkStore(path)
    store.ensure_embedding_space(EMBEDDER.model_id, EMBEDDER.dimension)
    put(store, record("d1", "a.md"), "alpha beta gamma")
    store.close()

    process = multiprocessing.get_context("spawn").Process(target=_die_mid_transaction, args=(str(path),))
    process.start()
    process.join(30)
    assert process.exitcode == 1

    reopened = SqliteChunkStore(path)
    assert reopened.count_chunks() == 1
    assert [r.chunk.doc_id for r in reopened.keyword_search("gamma", k=3)] == ["d1"]


def test_sqlite_store_sees_writes_from_another_connection(tmp_path):
    path = tmp_path / "store.db"
    reader, writer = SqliteChunkStore(path), SqliteChunkStore(path)
    writer.ensure_embedding_space(EMBEDDER.model_id, EMBEDDER.dimension)
    assert reader.vector_search(EMBEDDER.embed_query("alpha"), k=3) == []
    put(writer, record("d1", "a.md"), "alpha beta")
    assert [r.chunk.doc_id for r in reader.vector_search(EMBEDDER.embed_query("alpha"), k=3)] == ["d1"]


def test_sqlite_store_search_stays_exact_across_many_small_writes_and_deletes(tmp_path):
    store = SqliteChunkStore(tmp_path / "store.db")
    store.ensure_embedding_space(EMBEDDER.model_id, EMBEDDER.dimension)
    for i in range(20):  # each write between searches adds a segment; deletes leave dead rows to merge away
        put(store, record(f"d{i}", f"n{i}.md"), f"note {i} about topic{i % 3}", "shared filler words")
        assert store.keyword_search(f"topic{i % 3}", k=50)  # forces a snapshot refresh
        if i % 4 == 3:
            store.delete_document(f"d{i - 1}")
    live = {d.doc_id for d in store.list_documents()}
    assert len(live) == 15
    hits = store.keyword_search("topic1", k=50)
    assert {h.chunk.doc_id for h in hits} == {f"d{i}" for i in range(1, 20, 3)} & live
    assert {h.chunk.doc_id for h in store.vector_search(EMBEDDER.embed_query("shared filler words"), k=100)} == live
    assert len(store._current_snapshot().segments) <= 8


def test_sqlite_store_bm25_prefers_rarer_terms_and_title_matches(tmp_path):
    store = SqliteChunkStore(tmp_path / "store.db")
    store.ensure_embedding_space(EMBEDDER.model_id, EMBEDDER.dimension)
    put(store, record("common", "a.md"), "the service restarts daily", "service logs rotate")
    put(store, record("rare", "b.md"), "the kubelet restarts")
    assert store.keyword_search("service kubelet", k=3)[0].chunk.doc_id == "rare"
    put(store, record("titled", "c.md", title="Kubelet guide"), "restarts happen")
    assert store.keyword_search("kubelet restarts", k=3)[0].chunk.doc_id == "titled"


def test_sqlite_store_refuses_a_store_of_another_schema_version(tmp_path):
    path = tmp_path / "store.db"
    SqliteChunkStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    from ragchat.errors import StoreError

    with pytest.raises(StoreError, match="schema version 0"):
        SqliteChunkStore(path)
