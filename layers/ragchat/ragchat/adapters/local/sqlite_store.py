"""The embedded chunk store: one SQLite file with FTS5 (BM25) and vectors searched in numpy.

Why numpy and not a vector extension: Python's sqlite3 here cannot load extensions, and a flat
scan of 100k x 384 float32 rows in numpy takes ~8 ms, faster than sqlite-vec (~41 ms).
The vectors live in the database (the source of truth, transactional); an in-memory matrix is
rebuilt from it whenever the store's generation counter moves, so another process's writes are
seen on the next search.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ragchat.domain import Chunk, DocumentRecord, Filters, ScoredChunk
from ragchat.errors import EmbeddingSpaceMismatch, StoreError
from ragchat.text import query_terms

SCHEMA_VERSION = "1"
# Column weights for BM25 over (title, headings, text): a match in the title or a heading says
# more about a chunk than one in its body.
BM25_WEIGHTS = (2.0, 1.5, 1.0)

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents(
    doc_id TEXT PRIMARY KEY,
    uri TEXT NOT NULL,
    path TEXT NOT NULL,
    title TEXT NOT NULL,
    doc_type TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    pipeline_version TEXT NOT NULL,
    size INTEGER NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    chunk_count INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_uri ON documents(uri);
CREATE TABLE IF NOT EXISTS chunks(
    id INTEGER PRIMARY KEY,
    chunk_id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    title TEXT NOT NULL,
    headings TEXT NOT NULL,
    heading_path TEXT NOT NULL,
    page INTEGER,
    text TEXT NOT NULL,
    token_count INTEGER NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id, position);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    title, headings, text, content='chunks', content_rowid='id',
    tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, title, headings, text) VALUES (new.id, new.title, new.headings, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, title, headings, text)
    VALUES ('delete', old.id, old.title, old.headings, old.text);
END;
INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '{SCHEMA_VERSION}'), ('generation', '0');
"""

_CHUNK_COLUMNS = (
    "c.id, c.chunk_id, c.doc_id, c.position, c.text, c.title, c.heading_path, c.page, "
    "c.token_count, d.path, d.uri, d.doc_type"
)
_DOC_COLUMNS = (
    "doc_id, uri, path, title, doc_type, content_hash, pipeline_version, size, status, reason, "
    "chunk_count, updated_at"
)


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _row_to_chunk(row: tuple) -> Chunk:
    return Chunk(
        chunk_id=row[1], doc_id=row[2], position=row[3], text=row[4], title=row[5],
        heading_path=tuple(json.loads(row[6])), page=row[7], token_count=row[8],
        path=row[9], uri=row[10], doc_type=row[11],
    )


class _VectorIndex:
    """An immutable snapshot of every vector, with the document each row belongs to."""

    def __init__(self, generation: str, ids: np.ndarray, doc_rows: np.ndarray, doc_ids: list[str],
                 doc_paths: list[str], doc_types: list[str], matrix: np.ndarray):
        self.generation = generation
        self.ids = ids
        self.doc_rows = doc_rows
        self.doc_ids = doc_ids
        self.doc_paths = doc_paths
        self.doc_types = doc_types
        self.matrix = matrix

    def allowed_rows(self, filters: Filters) -> np.ndarray:
        allowed = [
            index for index, (doc_id, path, doc_type) in enumerate(zip(self.doc_ids, self.doc_paths, self.doc_types))
            if (not filters.path_prefix or path.startswith(filters.path_prefix))
            and (not filters.doc_types or doc_type in filters.doc_types)
            and (not filters.doc_ids or doc_id in filters.doc_ids)
        ]
        return np.isin(self.doc_rows, np.asarray(allowed, dtype=np.int64))


class SqliteChunkStore:
    """ChunkStore over one SQLite file. Safe for many reader threads and one writer at a time."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._index_lock = threading.Lock()
        self._index: _VectorIndex | None = None
        conn = self._conn()
        with self._write_lock:
            conn.executescript(_SCHEMA)
            weights = ", ".join(str(w) for w in BM25_WEIGHTS)
            conn.execute("INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('rank', ?)", (f"bm25({weights})",))

    # -- connections -------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    def _write(self, work) -> None:
        """Run `work(conn)` in one IMMEDIATE transaction that also bumps the generation."""
        conn = self._conn()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                work(conn)
                conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _meta(self, key: str) -> str | None:
        row = self._conn().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    # -- embedding space ---------------------------------------------------------------------
    def ensure_embedding_space(self, model_id: str, dimension: int) -> None:
        stored_model, stored_dim = self._meta("embedding_model"), self._meta("embedding_dimension")
        if stored_model is None:
            def work(conn: sqlite3.Connection) -> None:
                conn.execute("INSERT OR IGNORE INTO meta VALUES ('embedding_model', ?)", (model_id,))
                conn.execute("INSERT OR IGNORE INTO meta VALUES ('embedding_dimension', ?)", (str(dimension),))
            self._write(work)
            stored_model, stored_dim = self._meta("embedding_model"), self._meta("embedding_dimension")
        if stored_model != model_id or stored_dim != str(dimension):
            raise EmbeddingSpaceMismatch(
                f"the store at {self.path} holds vectors of {stored_model} ({stored_dim} dimensions) but the "
                f"configured embedder is {model_id} ({dimension} dimensions); use another data directory"
            )

    # -- documents ---------------------------------------------------------------------------
    def get_document(self, doc_id: str) -> DocumentRecord | None:
        row = self._conn().execute(f"SELECT {_DOC_COLUMNS} FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        return DocumentRecord(*row) if row else None

    def list_documents(self, uri_prefix: str | None = None) -> list[DocumentRecord]:
        sql = f"SELECT {_DOC_COLUMNS} FROM documents"
        params: tuple = ()
        if uri_prefix:
            sql += " WHERE substr(uri, 1, ?) = ?"
            params = (len(uri_prefix), uri_prefix)
        return [DocumentRecord(*row) for row in self._conn().execute(sql + " ORDER BY path", params)]

    def replace_documents(self, batch: Sequence[tuple[DocumentRecord, Sequence[Chunk], object]]) -> None:
        prepared = []
        for record, chunks, vectors in batch:
            matrix = np.asarray(vectors, dtype=np.float32)
            if len(chunks) != len(matrix):
                raise StoreError(f"{record.path}: {len(chunks)} chunks but {len(matrix)} vectors")
            prepared.append((record, chunks, matrix))

        def work(conn: sqlite3.Connection) -> None:
            for record, chunks, matrix in prepared:
                conn.execute("DELETE FROM chunks WHERE doc_id = ?", (record.doc_id,))
                conn.execute(
                    f"INSERT OR REPLACE INTO documents({_DOC_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (record.doc_id, record.uri, record.path, record.title, record.doc_type, record.content_hash,
                     record.pipeline_version, record.size, "indexed", "", len(chunks), record.updated_at or time.time()),
                )
                conn.executemany(
                    "INSERT INTO chunks(chunk_id, doc_id, position, title, headings, heading_path, page, text, "
                    "token_count, vector) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    [
                        (c.chunk_id, c.doc_id, c.position, c.title, " > ".join(c.heading_path),
                         json.dumps(list(c.heading_path)), c.page, c.text, c.token_count, vector.tobytes())
                        for c, vector in zip(chunks, matrix)
                    ],
                )

        self._write(work)

    def record_status(self, record: DocumentRecord) -> None:
        def work(conn: sqlite3.Connection) -> None:
            existing = conn.execute("SELECT chunk_count FROM documents WHERE doc_id = ?", (record.doc_id,)).fetchone()
            if existing and existing[0] > 0:
                conn.execute(
                    "UPDATE documents SET status = ?, reason = ?, updated_at = ? WHERE doc_id = ?",
                    (record.status, record.reason, time.time(), record.doc_id),
                )
                return
            conn.execute(
                f"INSERT OR REPLACE INTO documents({_DOC_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (record.doc_id, record.uri, record.path, record.title, record.doc_type, record.content_hash,
                 record.pipeline_version, record.size, record.status, record.reason, 0, time.time()),
            )

        self._write(work)

    def delete_document(self, doc_id: str) -> int:
        removed = 0

        def work(conn: sqlite3.Connection) -> None:
            nonlocal removed
            removed = conn.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,)).rowcount
            conn.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))

        self._write(work)
        return removed

    def get_chunks(self, doc_id: str) -> list[Chunk]:
        rows = self._conn().execute(
            f"SELECT {_CHUNK_COLUMNS} FROM chunks c JOIN documents d ON d.doc_id = c.doc_id "
            "WHERE c.doc_id = ? ORDER BY c.position", (doc_id,),
        )
        return [_row_to_chunk(row) for row in rows]

    def count_chunks(self) -> int:
        return self._conn().execute("SELECT count(*) FROM chunks").fetchone()[0]

    # -- search ------------------------------------------------------------------------------
    def _hydrate(self, scored_ids: Iterable[tuple[int, float]], arm: str) -> list[ScoredChunk]:
        scored_ids = list(scored_ids)
        if not scored_ids:
            return []
        placeholders = ",".join("?" * len(scored_ids))
        rows = self._conn().execute(
            f"SELECT {_CHUNK_COLUMNS} FROM chunks c JOIN documents d ON d.doc_id = c.doc_id WHERE c.id IN ({placeholders})",
            [row_id for row_id, _ in scored_ids],
        )
        by_id = {row[0]: _row_to_chunk(row) for row in rows}
        return [
            ScoredChunk(chunk=by_id[row_id], score=score, ranks={arm: rank})
            for rank, (row_id, score) in enumerate(scored_ids, start=1)
            if row_id in by_id
        ]

    def keyword_search(self, query: str, k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        terms = query_terms(query)
        if not terms or k <= 0:
            return []
        match = " OR ".join(f'"{term}"' for term in terms)
        if filters is None or filters.is_empty:
            sql = "SELECT rowid, -rank FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?"
            params: list = [match, k]
        else:
            clauses, params = ["chunks_fts MATCH ?"], [match]
            if filters.path_prefix:
                clauses.append("d.path LIKE ? ESCAPE '\\'")
                params.append(_like_prefix(filters.path_prefix))
            if filters.doc_types:
                clauses.append(f"d.doc_type IN ({','.join('?' * len(filters.doc_types))})")
                params.extend(filters.doc_types)
            if filters.doc_ids:
                clauses.append(f"d.doc_id IN ({','.join('?' * len(filters.doc_ids))})")
                params.extend(filters.doc_ids)
            sql = (
                "SELECT chunks_fts.rowid, -chunks_fts.rank FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid "
                f"JOIN documents d ON d.doc_id = c.doc_id WHERE {' AND '.join(clauses)} ORDER BY chunks_fts.rank LIMIT ?"
            )
            params.append(k)
        rows = self._conn().execute(sql, params).fetchall()
        return self._hydrate(rows, "bm25")

    def _vector_index(self) -> _VectorIndex | None:
        generation = self._meta("generation") or "0"
        index = self._index
        if index is not None and index.generation == generation:
            return index
        with self._index_lock:
            if self._index is not None and self._index.generation == generation:
                return self._index
            conn = self._conn()
            conn.execute("BEGIN")  # one snapshot for the generation, the documents and the vectors
            try:
                generation = self._meta("generation") or "0"
                docs = conn.execute("SELECT doc_id, path, doc_type FROM documents").fetchall()
                doc_row = {doc_id: i for i, (doc_id, _, _) in enumerate(docs)}
                rows = conn.execute("SELECT id, doc_id, vector FROM chunks").fetchall()
            finally:
                conn.execute("COMMIT")
            dimension = int(self._meta("embedding_dimension") or 0)
            if not rows or not dimension:
                matrix = np.zeros((0, max(dimension, 1)), dtype=np.float32)
            else:
                matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), dimension)
            self._index = _VectorIndex(
                generation=generation,
                ids=np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)),
                doc_rows=np.fromiter((doc_row[r[1]] for r in rows), dtype=np.int64, count=len(rows)),
                doc_ids=[d[0] for d in docs], doc_paths=[d[1] for d in docs], doc_types=[d[2] for d in docs],
                matrix=matrix,
            )
            return self._index

    def vector_search(self, vector, k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        index = self._vector_index()
        if index is None or len(index.ids) == 0 or k <= 0:
            return []
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        if query.shape[0] != index.matrix.shape[1]:
            raise StoreError(f"query vector has {query.shape[0]} dimensions, the store {index.matrix.shape[1]}")
        scores = index.matrix @ query
        if filters is not None and not filters.is_empty:
            scores = np.where(index.allowed_rows(filters), scores, -np.inf)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        top = top[np.isfinite(scores[top])]
        return self._hydrate(((int(index.ids[i]), float(scores[i])) for i in top), "dense")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
