"""The embedded chunk store: one SQLite file, searched through in-memory indexes built from it.

SQLite is the source of truth and the unit of atomicity: documents, chunks, their vectors and
their analysed terms (term ids and BM25F-weighted frequencies) are written in one transaction.
Searches run over snapshots in memory (memory_index.py): a flat numpy scan for vectors and an
inverted index for BM25. Why not FTS5 and a vector extension: FTS5 ranks by looking up each
matching row's length in a B-tree (~55 ms for a 30k-match query at 100k chunks), Python's
sqlite3 here cannot load extensions, and sqlite-vec scans 100k vectors in ~41 ms against numpy's
~5 ms. Every write bumps a generation counter; a search that sees a new generation loads only
the rows added since (and drops deleted ones), so other processes' writes are seen at once.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ragchat.access import is_visible
from ragchat.adapters.local.analyzer import analyze, weighted_terms
from ragchat.adapters.local.memory_index import (
    MAX_SEGMENTS,
    Segment,
    Snapshot,
    VectorScorer,
    decode_terms,
    encode_terms,
    numpy_scores,
)
from ragchat.domain import Chunk, DocumentRecord, Filters, ScoredChunk
from ragchat.errors import EmbeddingSpaceMismatch, StoreError
from ragchat.ordering import recorded_order, supersedes

SCHEMA_VERSION = "4"
# BM25F field weights: a match in the title or a heading says more about a chunk than one in its body.
FIELD_WEIGHTS = {"title": 2.0, "headings": 1.5, "text": 1.0}
MERGE_WHEN_DEAD = 0.3  # rebuild the snapshot as one segment once this share of rows is deleted

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
    updated_at REAL NOT NULL,
    ord TEXT NOT NULL DEFAULT '',  -- the order of the write that made this row (ragchat/ordering.py)
    generation TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL DEFAULT ''  -- the document's public address
);
CREATE INDEX IF NOT EXISTS documents_uri ON documents(uri);
CREATE TABLE IF NOT EXISTS chunks(
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: snapshots load rows above their highest id
    chunk_id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    title TEXT NOT NULL,
    heading_path TEXT NOT NULL,
    page INTEGER,
    text TEXT NOT NULL,
    token_count INTEGER NOT NULL,
    vector BLOB NOT NULL,
    terms BLOB NOT NULL,  -- int32 term ids, then float32 weighted frequencies
    term_length REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id, position);
CREATE TABLE IF NOT EXISTS vocabulary(id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE);
INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '{SCHEMA_VERSION}'), ('generation', '0');
"""

_CHUNK_COLUMNS = (
    "c.id, c.chunk_id, c.doc_id, c.position, c.text, c.title, c.heading_path, c.page, "
    "c.token_count, d.path, d.uri, d.doc_type, d.url"
)
_DOC_COLUMNS = (
    "doc_id, uri, path, title, doc_type, content_hash, pipeline_version, size, status, reason, "
    "chunk_count, updated_at, ord, generation, url"
)
_INSERT_DOCUMENT = f"INSERT OR REPLACE INTO documents({_DOC_COLUMNS}) VALUES ({','.join('?' * 15)})"
DELETED = "deleted"  # a row that remembers an ordered delete, so older writes stay refused
# What each older schema needs to become the current one.
_MIGRATIONS = {
    "2": ["ALTER TABLE documents ADD COLUMN ord TEXT NOT NULL DEFAULT ''",
          "ALTER TABLE documents ADD COLUMN generation TEXT NOT NULL DEFAULT ''",
          "ALTER TABLE documents ADD COLUMN url TEXT NOT NULL DEFAULT ''"],
    "3": ["ALTER TABLE documents ADD COLUMN url TEXT NOT NULL DEFAULT ''"],
}


class _NewRow(NamedTuple):
    """A chunk row as a snapshot loads it."""

    id: int
    doc_id: str
    vector: bytes
    terms: bytes
    term_length: float


class _Changes(NamedTuple):
    generation: str
    dimension: int
    documents: list[tuple[str, str, str]]  # (doc_id, path, doc_type)
    live_ids: np.ndarray
    new_rows: list[_NewRow]


def _segment_of(rows: list[_NewRow], doc_keys: dict[str, int], dimension: int) -> Segment:
    vectors = np.frombuffer(bytearray(b"".join(r.vector for r in rows)), dtype=np.float32)
    return Segment.build(
        ids=np.fromiter((r.id for r in rows), dtype=np.int64, count=len(rows)),
        doc_keys=np.fromiter((doc_keys[r.doc_id] for r in rows), dtype=np.int64, count=len(rows)),
        vectors=vectors.reshape(-1, dimension or 1),
        lengths=np.fromiter((r.term_length for r in rows), dtype=np.float32, count=len(rows)),
        postings=[decode_terms(r.terms) for r in rows],
    )


def _row_to_chunk(row: tuple) -> Chunk:
    return Chunk(
        chunk_id=row[1], doc_id=row[2], position=row[3], text=row[4], title=row[5],
        heading_path=tuple(json.loads(row[6])), page=row[7], token_count=row[8],
        path=row[9], uri=row[10], doc_type=row[11], url=row[12],
    )


class SqliteChunkStore:
    """ChunkStore over one SQLite file. Safe for many reader threads and one writer at a time."""

    def __init__(self, path: str | Path, vector_scorer: VectorScorer | None = None):
        """`vector_scorer` computes matrix @ query; the composition root passes the embedder's own
        (torch, on the thread pool the model already uses) so the two never fight over the cores."""
        self.path = Path(path)
        self.vector_scorer = vector_scorer or numpy_scores
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._index_lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._term_ids: dict[str, int] = {}  # vocabulary ids never change once given
        conn = self._conn()
        with self._write_lock:
            existing = conn.execute("SELECT name FROM sqlite_master WHERE name = 'meta'").fetchone()
            version = self._meta("schema_version") if existing else SCHEMA_VERSION
            if version in _MIGRATIONS:
                steps = [*_MIGRATIONS[version],
                         f"UPDATE meta SET value = '{SCHEMA_VERSION}' WHERE key = 'schema_version'"]
                conn.executescript("BEGIN; " + "; ".join(steps) + "; COMMIT;")
            conn.executescript(_SCHEMA)
        version = self._meta("schema_version")
        if version != SCHEMA_VERSION:
            raise StoreError(f"{self.path} has schema version {version}, this ragchat needs {SCHEMA_VERSION}; "
                             "ingest into a new data directory")

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
                self._term_ids = {}  # ids cached during the failed transaction were never committed
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
        row = self._conn().execute(f"SELECT {_DOC_COLUMNS} FROM documents WHERE doc_id = ? AND status != ?",
                                   (doc_id, DELETED)).fetchone()
        return DocumentRecord(*row) if row else None

    def list_documents(self, uri_prefix: str | None = None) -> list[DocumentRecord]:
        sql = f"SELECT {_DOC_COLUMNS} FROM documents WHERE status != ?"
        params: tuple = (DELETED,)
        if uri_prefix:
            sql += " AND substr(uri, 1, ?) = ?"
            params = (DELETED, len(uri_prefix), uri_prefix)
        return [DocumentRecord(*row) for row in self._conn().execute(sql + " ORDER BY path", params)]

    def stored_order(self, doc_id: str) -> str | None:
        return self._stored_order(self._conn(), doc_id)

    @staticmethod
    def _stored_order(conn: sqlite3.Connection, doc_id: str) -> str | None:
        row = conn.execute("SELECT ord FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        return row[0] if row else None

    def replace_documents(self, batch: Sequence[tuple[DocumentRecord, Sequence[Chunk], object]]) -> list[str]:
        """One transaction: each document's chunks are swapped whole, so there is never a stale
        generation to sweep; a write older than the stored one is refused."""
        prepared, superseded = [], []
        for record, chunks, vectors in batch:
            matrix = np.asarray(vectors, dtype=np.float32)
            if len(chunks) != len(matrix):
                raise StoreError(f"{record.path}: {len(chunks)} chunks but {len(matrix)} vectors")
            prepared.append((record, chunks, matrix))

        def work(conn: sqlite3.Connection) -> None:
            superseded.clear()
            for record, chunks, matrix in prepared:
                if not supersedes(record.order, self._stored_order(conn, record.doc_id)):
                    superseded.append(record.doc_id)
                    continue
                conn.execute("DELETE FROM chunks WHERE doc_id = ?", (record.doc_id,))
                conn.execute(_INSERT_DOCUMENT, (
                    record.doc_id, record.uri, record.path, record.title, record.doc_type, record.content_hash,
                    record.pipeline_version, record.size, "indexed", "", len(chunks),
                    record.updated_at or time.time(), record.order, record.generation or uuid.uuid4().hex,
                    record.url))
                rows = []
                for chunk, vector in zip(chunks, matrix):
                    terms, length = self._analysed(conn, chunk)
                    rows.append((chunk.chunk_id, chunk.doc_id, chunk.position, chunk.title,
                                 json.dumps(list(chunk.heading_path)), chunk.page, chunk.text, chunk.token_count,
                                 vector.tobytes(), terms, length))
                conn.executemany(
                    "INSERT INTO chunks(chunk_id, doc_id, position, title, heading_path, page, text, token_count, "
                    "vector, terms, term_length) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows,
                )

        self._write(work)
        return list(superseded)

    def _analysed(self, conn: sqlite3.Connection, chunk: Chunk) -> tuple[bytes, float]:
        """A chunk's BM25F term frequencies as a blob of term ids and weights, and its weighted length."""
        counts, length = weighted_terms([
            (chunk.title, FIELD_WEIGHTS["title"]),
            (" ".join(chunk.heading_path), FIELD_WEIGHTS["headings"]),
            (chunk.text, FIELD_WEIGHTS["text"]),
        ])
        missing = [term for term in counts if term not in self._term_ids]
        if missing:
            conn.executemany("INSERT OR IGNORE INTO vocabulary(term) VALUES (?)", [(t,) for t in missing])
            for start in range(0, len(missing), 500):
                part = missing[start:start + 500]
                found = conn.execute(
                    f"SELECT term, id FROM vocabulary WHERE term IN ({','.join('?' * len(part))})", part)
                self._term_ids.update(found)
        ids = np.fromiter((self._term_ids[t] for t in counts), dtype=np.int32, count=len(counts))
        weights = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
        return encode_terms(ids, weights), length

    def record_status(self, record: DocumentRecord) -> bool:
        recorded = False

        def work(conn: sqlite3.Connection) -> None:
            nonlocal recorded
            stored = self._stored_order(conn, record.doc_id)
            if not supersedes(record.order, stored):
                return
            recorded = True
            order = recorded_order(record.status, record.order, stored)
            existing = conn.execute("SELECT chunk_count FROM documents WHERE doc_id = ? AND status != ?",
                                    (record.doc_id, DELETED)).fetchone()
            if existing and existing[0] > 0:
                conn.execute("UPDATE documents SET status = ?, reason = ?, updated_at = ?, ord = ? WHERE doc_id = ?",
                             (record.status, record.reason, time.time(), order, record.doc_id))
                return
            conn.execute(_INSERT_DOCUMENT, (
                record.doc_id, record.uri, record.path, record.title, record.doc_type, record.content_hash,
                record.pipeline_version, record.size, record.status, record.reason, 0, time.time(), order, "",
                record.url))

        self._write(work)
        return recorded

    def delete_document(self, doc_id: str, order: str = "") -> int:
        removed = 0

        def work(conn: sqlite3.Connection) -> None:
            nonlocal removed
            if not supersedes(order, self._stored_order(conn, doc_id)):
                return  # a newer write stands: an older delete must not remove it
            removed = conn.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,)).rowcount
            if order:
                conn.execute("UPDATE documents SET status = ?, reason = '', chunk_count = 0, ord = ?, generation = '' "
                             "WHERE doc_id = ?", (DELETED, order, doc_id))
                conn.execute("INSERT OR IGNORE INTO documents(doc_id, uri, path, title, doc_type, content_hash, "
                             "pipeline_version, size, status, updated_at, ord) VALUES (?,'','','','','','',0,?,?,?)",
                             (doc_id, DELETED, time.time(), order))
            else:
                conn.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))

        self._write(work)
        return removed

    def sweep(self, doc_id: str) -> int:
        return 0  # every replace swaps a document's chunks in one transaction: nothing is ever left over

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
            f"SELECT {_CHUNK_COLUMNS} FROM chunks c JOIN documents d ON d.doc_id = c.doc_id "
            f"WHERE c.id IN ({placeholders})",
            [row_id for row_id, _ in scored_ids],
        )
        by_id = {row[0]: _row_to_chunk(row) for row in rows}
        return [
            ScoredChunk(chunk=by_id[row_id], score=score, ranks={arm: rank}, arm_scores={arm: score})
            for rank, (row_id, score) in enumerate(scored_ids, start=1)
            if row_id in by_id
        ]

    def _query_term_ids(self, query: str) -> list[int]:
        terms = list(dict.fromkeys(analyze(query)))
        unknown = [t for t in terms if t not in self._term_ids]
        if unknown:
            found = self._conn().execute(
                f"SELECT term, id FROM vocabulary WHERE term IN ({','.join('?' * len(unknown))})", unknown)
            self._term_ids.update(found)
        return [self._term_ids[t] for t in terms if t in self._term_ids]

    def _allowed_doc_keys(self, snapshot: Snapshot, filters: Filters | None) -> np.ndarray | None:
        if filters is None or filters.is_empty:
            return None
        keys = [
            key for key, (doc_id, path, doc_type) in snapshot.doc_meta.items()
            if (not filters.path_prefix or path.startswith(filters.path_prefix))
            and (not filters.doc_types or doc_type in filters.doc_types)
            and (not filters.doc_ids or doc_id in filters.doc_ids)
            and is_visible(path, filters.visible_to)
        ]
        return np.asarray(keys, dtype=np.int64)

    def keyword_search(self, query: str, k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        if k <= 0:
            return []
        term_ids = self._query_term_ids(query)
        if not term_ids:
            return []
        snapshot = self._current_snapshot()
        hits = snapshot.bm25_top(term_ids, k, self._allowed_doc_keys(snapshot, filters))
        return self._hydrate(hits, "bm25")

    def vector_search(self, vector, k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        if k <= 0:
            return []
        snapshot = self._current_snapshot()
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        dimension = snapshot.dimension or query.shape[0]
        if query.shape[0] != dimension:
            raise StoreError(f"query vector has {query.shape[0]} dimensions, the store {dimension}")
        hits = snapshot.vector_top(query, k, self._allowed_doc_keys(snapshot, filters), self.vector_scorer)
        return self._hydrate(hits, "dense")

    def _current_snapshot(self) -> Snapshot:
        generation = self._meta("generation") or "0"
        snapshot = self._snapshot
        if snapshot is not None and snapshot.generation == generation:
            return snapshot
        with self._index_lock:
            snapshot = self._snapshot
            if snapshot is None or snapshot.generation != self._meta("generation"):
                self._snapshot = self._refreshed(snapshot)
            return self._snapshot

    def _refreshed(self, previous: Snapshot | None) -> Snapshot:
        """A snapshot of the current generation, reusing the previous one's segments where it can."""
        changes = self._read_changes(previous.max_id if previous else 0)
        doc_keys = dict(previous.doc_keys) if previous else {}
        for doc_id, _, _ in changes.documents:
            doc_keys.setdefault(doc_id, len(doc_keys))
        for row in changes.new_rows:
            doc_keys.setdefault(row.doc_id, len(doc_keys))
        doc_meta = {doc_keys[doc_id]: (doc_id, path, doc_type) for doc_id, path, doc_type in changes.documents}

        segments = list(previous.segments) if previous else []
        alive = [np.isin(segment.ids, changes.live_ids, assume_unique=True) for segment in segments]
        if changes.new_rows:
            segments.append(_segment_of(changes.new_rows, doc_keys, changes.dimension))
            alive.append(np.ones(len(changes.new_rows), dtype=bool))
        total = sum(len(a) for a in alive)
        dead = total - sum(int(a.sum()) for a in alive)
        if len(segments) > MAX_SEGMENTS or (total and dead / total > MERGE_WHEN_DEAD):
            segments = [Segment.merge(segments, alive)]
            alive = [np.ones(len(segments[0].ids), dtype=bool)]
        return Snapshot(changes.generation, tuple(segments), tuple(alive), doc_keys, doc_meta, changes.dimension)

    def _read_changes(self, max_id: int) -> _Changes:
        """In one read transaction (so generation, documents and rows agree): every document, the ids
        of every live chunk, and the chunks written since the row `max_id`."""
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            generation = self._meta("generation") or "0"
            dimension = int(self._meta("embedding_dimension") or 0)
            documents = conn.execute("SELECT doc_id, path, doc_type FROM documents").fetchall()
            live_ids = np.fromiter((r[0] for r in conn.execute("SELECT id FROM chunks ORDER BY id")), dtype=np.int64)
            new_rows = [_NewRow(*row) for row in conn.execute(
                "SELECT id, doc_id, vector, terms, term_length FROM chunks WHERE id > ? ORDER BY id", (max_id,))]
        finally:
            conn.execute("COMMIT")
        return _Changes(generation, dimension, documents, live_ids, new_rows)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
