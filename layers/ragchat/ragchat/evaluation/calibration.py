"""`ragchat eval calibrate-fusion`: the fusion's dense weight for this corpus and this embedder,
without labels.

The default weight (0.8) was chosen on SciFact's training questions with all-MiniLM-L6-v2. Another
embedder (Titan on AWS) spreads its cosine similarities differently, and a corpus may lean more on
words or on meaning. The calibration draws pseudo-questions from the corpus itself: a sentence of a
document that occurs in no other document, whose document is the one relevant answer. The chunks
holding that very sentence are removed from both arms' results, so the document must be found
through its other chunks, as a real question finds a document without quoting it (a pseudo-question
that can match its own chunk verbatim always favours the keyword arm). The weight that ranks the
documents best over a grid is the suggestion; the curve is usually flat near its top, so a
difference under 0.005 in nDCG@10 is noise and the default is kept.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from ragchat.domain import ScoredChunk
from ragchat.evaluation.metrics import ndcg_at_k
from ragchat.ports import ChunkStore, QueryEmbedder
from ragchat.retrieval.fusion import convex_fusion
from ragchat.text import split_sentences

GRID = [round(0.05 * i, 2) for i in range(21)]
DEPTH = 100
NOISE = 0.005


@dataclass
class Calibration:
    questions: int
    curve: dict[float, float]  # dense weight -> nDCG@10
    current: float
    suggested: float  # the best weight, or the current one when the gain is within the noise

    @property
    def gain(self) -> float:
        return self.curve[self.suggested] - self.curve[self.current]


def pseudo_questions(store: ChunkStore, count: int, seed: int = 3, min_words: int = 6,
                     max_words: int = 40) -> list[tuple[str, str, set[str]]]:
    """(sentence, document id, ids of the chunks holding it) for up to `count` documents of two or
    more chunks, each sentence found in no other document."""
    sentences: dict[str, list[tuple[str, str]]] = {}
    for record in store.list_documents():
        if record.status != "indexed" or record.chunk_count < 2:
            continue
        for chunk in store.get_chunks(record.doc_id):
            for sentence in split_sentences(" ".join(chunk.text.split())):
                if min_words <= len(sentence.split()) <= max_words:
                    sentences.setdefault(record.doc_id, []).append((sentence, chunk.chunk_id))
    owners = Counter(s for doc_sentences in sentences.values() for s in {s for s, _ in doc_sentences})
    rng = random.Random(seed)
    picked = []
    for doc_id in rng.sample(sorted(sentences), min(count, len(sentences))):
        unique = [s for s, _ in sentences[doc_id] if owners[s] == 1]
        if unique:
            sentence = rng.choice(unique)
            holding = {c for s, c in sentences[doc_id] if s == sentence}
            picked.append((sentence, doc_id, holding))
    return picked


def calibrate(store: ChunkStore, embedder: QueryEmbedder, current: float, questions: int = 300) -> Calibration:
    sums = dict.fromkeys(GRID, 0.0)
    asked = 0
    for sentence, doc_id, holding in pseudo_questions(store, questions):
        arms = {"bm25": _without(store.keyword_search(sentence, DEPTH), holding),
                "dense": _without(store.vector_search(embedder.embed_query(sentence), DEPTH), holding)}
        asked += 1
        for weight in GRID:
            fused = convex_fusion(arms, {"dense": weight, "bm25": 1 - weight}, depth=DEPTH)
            documents = list(dict.fromkeys(h.chunk.doc_id for h in fused))
            sums[weight] += ndcg_at_k(documents, {doc_id: 1}, 10)
    if not asked:
        return Calibration(0, {}, current, current)
    curve = {weight: total / asked for weight, total in sums.items()}
    curve.setdefault(current, _score_at(current, curve))
    best = max(GRID, key=lambda w: (round(curve[w], 4), -abs(w - current)))
    suggested = best if curve[best] - curve[current] > NOISE else current
    return Calibration(asked, curve, current, suggested)


def _without(hits: list[ScoredChunk], chunk_ids: set[str]) -> list[ScoredChunk]:
    return [h for h in hits if h.chunk.chunk_id not in chunk_ids]


def _score_at(weight: float, curve: dict[float, float]) -> float:
    """A weight off the grid is scored as its nearest grid point."""
    return curve[min(curve, key=lambda w: abs(w - weight))]
