"""In-memory search structures of the local store: vectors and a BM25 inverted index.

SQLite holds the truth. This module holds immutable snapshots built from it: segments of rows
appended as new chunks arrive, plus a mask of rows deleted since. A snapshot is never changed in
place, so searches running in other threads keep a consistent view while a new one is built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

VectorScorer = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (matrix, query) -> one score per row


def numpy_scores(matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
    return matrix @ query


def encode_terms(term_ids: np.ndarray, weights: np.ndarray) -> bytes:
    """A chunk's analysed terms as stored: int32 term ids, then their float32 weighted frequencies."""
    return term_ids.astype(np.int32).tobytes() + weights.astype(np.float32).tobytes()


def decode_terms(blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of encode_terms: both halves hold one 4-byte value per term."""
    count = len(blob) // 8
    return (np.frombuffer(blob, dtype=np.int32, count=count),
            np.frombuffer(blob, dtype=np.float32, count=count, offset=count * 4))


BM25_K1 = 1.2
BM25_B = 0.75
MAX_SEGMENTS = 8


@dataclass(frozen=True)
class Segment:
    ids: np.ndarray  # chunk row ids, ascending
    doc_keys: np.ndarray  # int key of each row's document (see Snapshot.doc_keys)
    vectors: np.ndarray  # (rows, dimension) float32, L2-normalised, column-major (see build)
    lengths: np.ndarray  # weighted BM25 length of each row
    term_ids: np.ndarray  # postings sorted by term id: the term ...
    rows: np.ndarray  # ... the row (index into this segment) ...
    tfs: np.ndarray  # ... and the weighted term frequency
    term_starts: np.ndarray  # distinct term ids in term_ids, and where their postings begin
    term_offsets: np.ndarray

    @classmethod
    def build(cls, ids, doc_keys, vectors, lengths, postings: list[tuple[np.ndarray, np.ndarray]]) -> Segment:
        counts = np.fromiter((len(t) for t, _ in postings), dtype=np.int64, count=len(postings))
        rows = np.repeat(np.arange(len(postings), dtype=np.int32), counts)
        term_ids = np.concatenate([t for t, _ in postings]) if postings else np.zeros(0, np.int32)
        tfs = np.concatenate([w for _, w in postings]) if postings else np.zeros(0, np.float32)
        order = np.argsort(term_ids, kind="stable")
        term_ids, rows, tfs = term_ids[order], rows[order], tfs[order]
        starts, offsets = np.unique(term_ids, return_index=True)
        # column-major: each dimension's values lie together, so scoring is one (1 x d) @ (d x rows)
        # product streaming through memory once (2.5x faster than a row-major matrix-vector
        # product in torch on the reference machine: 6.9 against 17 ms for 100k x 384)
        vectors = np.asfortranarray(vectors, dtype=np.float32)
        return cls(ids, doc_keys, vectors, lengths, term_ids, rows, tfs, starts, np.append(offsets, len(term_ids)))

    @classmethod
    def merge(cls, segments: list[Segment], alive: list[np.ndarray]) -> Segment:
        """One segment holding the live rows of several (deleted rows are dropped here)."""
        postings = []
        for segment, keep in zip(segments, alive):
            order = np.argsort(segment.rows, kind="stable")  # postings grouped by row again
            bounds = np.searchsorted(segment.rows[order], np.arange(len(segment.ids) + 1))
            for index in np.flatnonzero(keep):
                picked = order[bounds[index]:bounds[index + 1]]
                postings.append((segment.term_ids[picked], segment.tfs[picked]))
        return cls.build(
            np.concatenate([s.ids[k] for s, k in zip(segments, alive)]),
            np.concatenate([s.doc_keys[k] for s, k in zip(segments, alive)]),
            np.concatenate([s.vectors[k] for s, k in zip(segments, alive)]),
            np.concatenate([s.lengths[k] for s, k in zip(segments, alive)]),
            postings,
        )

    def postings(self, term_id: int) -> tuple[np.ndarray, np.ndarray]:
        position = np.searchsorted(self.term_starts, term_id)
        if position >= len(self.term_starts) or self.term_starts[position] != term_id:
            return self.rows[:0], self.tfs[:0]
        lo, hi = self.term_offsets[position], self.term_offsets[position + 1]
        return self.rows[lo:hi], self.tfs[lo:hi]


@dataclass(frozen=True)
class Snapshot:
    generation: str
    segments: tuple[Segment, ...]
    alive: tuple[np.ndarray, ...]  # one boolean mask per segment
    doc_keys: dict[str, int] = field(default_factory=dict)  # doc_id -> small int, stable for the process
    doc_meta: dict[int, tuple[str, str, str]] = field(default_factory=dict)  # key -> (doc_id, path, doc_type)
    dimension: int = 0  # of the stored vectors (0 before the embedding space is recorded)

    @property
    def max_id(self) -> int:
        return max((int(s.ids[-1]) for s in self.segments if len(s.ids)), default=0)

    @property
    def size(self) -> int:
        return sum(int(a.sum()) for a in self.alive)

    def allowed(self, segment_index: int, allowed_keys: np.ndarray | None) -> np.ndarray:
        mask = self.alive[segment_index]
        if allowed_keys is not None:
            mask = mask & np.isin(self.segments[segment_index].doc_keys, allowed_keys)
        return mask

    def vector_top(self, query: np.ndarray, k: int, allowed_keys: np.ndarray | None,
                   scorer: VectorScorer = numpy_scores) -> list[tuple[int, float]]:
        best: list[tuple[float, int]] = []
        for index, segment in enumerate(self.segments):
            if not len(segment.ids):
                continue
            scores = scorer(segment.vectors, query)
            scores = np.where(self.allowed(index, allowed_keys), scores, -np.inf)
            best.extend(_top(scores, segment.ids, k))
        best.sort(key=lambda pair: (-pair[0], pair[1]))
        return [(row_id, score) for score, row_id in best[:k] if np.isfinite(score)]

    def bm25_top(self, term_ids: list[int], k: int, allowed_keys: np.ndarray | None) -> list[tuple[int, float]]:
        live = self.size
        if not live or not term_ids:
            return []
        total_length = sum(float(s.lengths[a].sum()) for s, a in zip(self.segments, self.alive))
        average_length = total_length / live or 1.0
        per_segment = [[s.postings(t) for t in term_ids] for s in self.segments]
        # document frequency over live rows only, so deleted chunks never skew the idf
        document_frequency = [
            sum(int(alive[postings[j][0]].sum()) for alive, postings in zip(self.alive, per_segment))
            for j in range(len(term_ids))
        ]
        best: list[tuple[float, int]] = []
        for index, segment in enumerate(self.segments):
            scores = None
            norms = BM25_K1 * (1 - BM25_B + BM25_B * segment.lengths / average_length)
            for j, (rows, tfs) in enumerate(per_segment[index]):
                if not len(rows) or not document_frequency[j]:
                    continue
                df = document_frequency[j]
                idf = np.log(1 + (live - df + 0.5) / (df + 0.5))
                if scores is None:
                    scores = np.zeros(len(segment.ids), dtype=np.float32)
                scores[rows] += idf * tfs * (BM25_K1 + 1) / (tfs + norms[rows])  # a row occurs once per term
            if scores is None:
                continue
            mask = self.allowed(index, allowed_keys) & (scores > 0)
            scores = np.where(mask, scores, -np.inf)
            best.extend(_top(scores, segment.ids, k))
        best.sort(key=lambda pair: (-pair[0], pair[1]))
        return [(row_id, score) for score, row_id in best[:k] if np.isfinite(score)]


def _top(scores: np.ndarray, ids: np.ndarray, k: int) -> list[tuple[float, int]]:
    k = min(k, len(scores))
    if k <= 0:
        return []
    top = np.argpartition(-scores, k - 1)[:k]
    return [(float(scores[i]), int(ids[i])) for i in top if np.isfinite(scores[i])]
