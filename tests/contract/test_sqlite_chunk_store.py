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
