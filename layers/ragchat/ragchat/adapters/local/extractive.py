"""The offline default answerer: no language model, only sentences quoted from the sources.

Every prose sentence of the retrieved passages is scored by its meaning (cosine similarity of the
sentence, with its section's title and headings as context, to the question, using the embedding
model already loaded for retrieval) plus its IDF-weighted word overlap with the question. The best
few are streamed in document order, each followed by the citation of its source. It says plainly
that it is extractive. Without an embedder it falls back to word overlap alone.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

from ragchat.adapters.local.analyzer import analyze
from ragchat.domain import GenerationRequest, GenerationResult
from ragchat.errors import GenerationError
from ragchat.ports import TextSink
from ragchat.text import split_paragraphs, split_sentences

INTRO = "*Extractive answer: sentences quoted from your documents, no language model.*\n\n"
_MARKERS = re.compile(r"\[\d{1,3}(?:\s*,\s*\d{1,3})*\]")  # a document's own "[3]" must not become a citation
_PIECES = re.compile(r"\S+\s*")
MIN_WORDS = 4
MAX_SENTENCE_CHARS = 400
RELATIVE_OVERLAP = 0.5
CONTEXT_WEIGHT = 0.5  # a question term found only in the section's title or headings counts half
LEXICAL_WEIGHT = 0.3  # word overlap, scaled to 0..1, next to a cosine similarity
MAX_CANDIDATES = 32  # sentences scored per answer (from the best-ranked sources first)
CACHE_SENTENCES = 20_000  # sentence vectors kept: the same passages are retrieved again and again
_PROSE_WORD = re.compile(r"^[(\"'“]*[A-Za-z][A-Za-z'’-]*[.,;:!?)\"'”]*$")
MIN_PROSE_SHARE = 0.6


def looks_like_prose(sentence: str) -> bool:
    """Console output, code and paths make poor quotes: most words of a prose sentence are words."""
    words = [w for w in sentence.replace("|", " ").split() if w]
    return bool(words) and sum(1 for w in words if _PROSE_WORD.match(w)) / len(words) >= MIN_PROSE_SHARE


@dataclass(frozen=True)
class _Candidate:
    """A sentence that could be quoted."""

    number: int  # the source it comes from
    position: int  # its order among the source's candidates
    sentence: str
    terms: frozenset[str]  # its analysed words
    context: frozenset[str]  # the analysed words of its section's title and headings


class ExtractiveGenerator:
    name = "extractive"
    uses_language_model = False
    supports_tools = False  # one retrieval, then quotes from it: no tool loop

    def __init__(self, max_sentences: int = 4, max_words: int = 160, embedder=None):
        self.max_sentences = max_sentences
        self.max_words = max_words
        self.embedder = embedder  # anything with embed_documents/embed_query; None: word overlap only
        self._vectors: OrderedDict[str, object] = OrderedDict()  # LRU of sentence vectors
        self._lock = threading.Lock()

    def _candidates(self, request: GenerationRequest) -> list[_Candidate]:
        candidates = []
        seen: set[str] = set()  # overlapping chunks repeat sentences: quote each once
        for source, passage in zip(request.sources, request.passages):
            context = frozenset(analyze(" ".join((source.title, *source.heading_path))))
            position = 0
            for paragraph in split_paragraphs(passage):
                for raw in split_sentences(paragraph):
                    sentence = " ".join(_MARKERS.sub("", raw).split())
                    if (len(sentence.split()) >= MIN_WORDS and len(sentence) <= MAX_SENTENCE_CHARS
                            and looks_like_prose(sentence) and sentence.lower() not in seen):
                        seen.add(sentence.lower())
                        candidates.append(_Candidate(source.number, position, sentence,
                                                     frozenset(analyze(sentence)), context))
                        position += 1
        return candidates[:MAX_CANDIDATES]

    def _similarities(self, request: GenerationRequest, candidates: list[_Candidate]) -> list[float]:
        if self.embedder is None:
            return [0.0] * len(candidates)
        import numpy as np

        headings = {s.number: " > ".join((s.title, *s.heading_path)) for s in request.sources}
        texts = [f"{headings[c.number]}: {c.sentence}" for c in candidates]
        distinct = list(dict.fromkeys(texts))
        with self._lock:
            known = {t: self._vectors[t] for t in distinct if t in self._vectors}
            for text in known:
                self._vectors.move_to_end(text)
        missing = [t for t in distinct if t not in known]
        try:
            query = np.asarray(self.embedder.embed_query(request.question), dtype=np.float32)
            fresh = np.asarray(self.embedder.embed_documents(missing), dtype=np.float32) if missing else []
        except Exception as exc:  # the embedding model is this generator's model: its failure fails the answer
            raise GenerationError(f"the embedding model failed ({type(exc).__name__}: {exc})") from exc
        if missing:
            known.update(zip(missing, fresh))
            with self._lock:
                self._vectors.update(zip(missing, fresh))
                while len(self._vectors) > CACHE_SENTENCES:
                    self._vectors.popitem(last=False)
        vectors = np.stack([known[t] for t in texts])
        return [float(v) for v in vectors @ query]

    @staticmethod
    def _overlaps(question: set[str], candidates: list[_Candidate]) -> list[float]:
        """IDF-weighted overlap of each candidate's words with the question's (over these candidates);
        a question word only in the section's title or headings counts CONTEXT_WEIGHT."""
        document_frequency: dict[str, int] = {}
        for candidate in candidates:
            for term in (candidate.terms | candidate.context) & question:
                document_frequency[term] = document_frequency.get(term, 0) + 1

        def idf(term: str) -> float:
            return math.log(1 + len(candidates) / document_frequency[term])

        overlaps = []
        for candidate in candidates:
            own = candidate.terms & question
            from_context = (candidate.context & question) - own
            overlaps.append(sum(idf(t) for t in own) + CONTEXT_WEIGHT * sum(idf(t) for t in from_context))
        return overlaps

    def select(self, request: GenerationRequest) -> list[tuple[int, str]]:
        """(source number, sentence) of the sentences to quote, in document order."""
        candidates = self._candidates(request)
        if not candidates:
            return []
        overlaps = self._overlaps(set(analyze(request.question)), candidates)
        best_overlap = max(overlaps) or 1.0
        scores = [
            similarity + LEXICAL_WEIGHT * overlap / best_overlap
            # earlier sources and earlier sentences break ties: retrieval already ranked the sources
            + 0.01 / c.number + 0.001 / (c.position + 1)
            for c, similarity, overlap in zip(candidates, self._similarities(request, candidates), overlaps)
        ]
        ranked = sorted(zip(scores, candidates), key=lambda pair: pair[0], reverse=True)
        floor = RELATIVE_OVERLAP * ranked[0][0]  # a sentence far weaker than the best adds noise
        chosen: list[_Candidate] = []
        words = 0
        for score, candidate in ranked:
            length = len(candidate.sentence.split())
            if chosen and (score < floor or len(chosen) >= self.max_sentences or words + length > self.max_words):
                break
            chosen.append(candidate)
            words += length
        chosen.sort(key=lambda c: (c.number, c.position))
        return [(c.number, c.sentence) for c in chosen]

    def stream(self, request: GenerationRequest, on_text: TextSink) -> GenerationResult:
        on_text(INTRO)  # the reader learns at once what kind of answer this is, while sentences are scored
        selected = self.select(request)
        body = "".join(f"- {sentence} [{number}]\n" for number, sentence in selected)
        output = 1
        for piece in _PIECES.findall(body):
            on_text(piece)
            output += 1
        return GenerationResult(stop_reason="end_turn", output_tokens=output, text=INTRO + body)

    def complete(self, system: str, prompt: str, max_tokens: int = 200) -> str:
        raise GenerationError("the extractive generator has no language model to complete a prompt")
