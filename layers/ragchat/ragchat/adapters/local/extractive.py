"""The offline default answerer: no language model, only sentences quoted from the sources.

It scores every sentence of the retrieved passages by the IDF-weighted overlap of its terms with
the question (IDF over those sentences), keeps the best few, and streams them in document order,
each followed by the citation of its source. It says plainly that it is extractive.
"""

from __future__ import annotations

import math
import re

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


class ExtractiveGenerator:
    name = "extractive"
    uses_language_model = False

    def __init__(self, max_sentences: int = 4, max_words: int = 160):
        self.max_sentences = max_sentences
        self.max_words = max_words

    def _candidates(self, request: GenerationRequest) -> list[tuple[int, int, str, set[str]]]:
        candidates = []
        seen: set[str] = set()  # overlapping chunks repeat sentences: quote each once
        for source, passage in zip(request.sources, request.passages):
            position = 0
            for paragraph in split_paragraphs(passage):
                for sentence in split_sentences(paragraph):
                    sentence = " ".join(_MARKERS.sub("", sentence).split())
                    if len(sentence.split()) >= MIN_WORDS and sentence.lower() not in seen:
                        seen.add(sentence.lower())
                        candidates.append((source.number, position, sentence[:MAX_SENTENCE_CHARS], set(analyze(sentence))))
                        position += 1
        return candidates

    def select(self, request: GenerationRequest) -> list[tuple[int, str]]:
        candidates = self._candidates(request)
        if not candidates:
            return []
        question = set(analyze(request.question))
        document_frequency: dict[str, int] = {}
        for *_, terms in candidates:
            for term in terms & question:
                document_frequency[term] = document_frequency.get(term, 0) + 1
        total = len(candidates)

        def overlap(candidate) -> float:
            return sum(math.log(1 + total / document_frequency[t]) for t in candidate[3] & question)

        def score(candidate) -> float:
            number, position, _, _ = candidate
            # earlier sources and earlier sentences break ties: retrieval already ranked the sources
            return overlap(candidate) + 0.1 / number + 0.01 / (position + 1)

        ranked = sorted(candidates, key=score, reverse=True)
        floor = RELATIVE_OVERLAP * overlap(ranked[0])  # a sentence far weaker than the best adds noise
        chosen, words = [], 0
        for candidate in ranked:
            if chosen and overlap(candidate) < floor:
                break
            length = len(candidate[2].split())
            if chosen and (len(chosen) >= self.max_sentences or words + length > self.max_words):
                break
            chosen.append(candidate)
            words += length
        chosen.sort(key=lambda c: (c[0], c[1]))
        return [(number, sentence) for number, _, sentence, _ in chosen]

    def stream(self, request: GenerationRequest, on_text: TextSink) -> GenerationResult:
        selected = self.select(request)
        body = "".join(f"- {sentence} [{number}]\n" for number, sentence in selected)
        output = 0
        for piece in _PIECES.findall(INTRO + body):
            on_text(piece)
            output += 1
        return GenerationResult(stop_reason="end_turn", output_tokens=output)

    def complete(self, system: str, prompt: str, max_tokens: int = 200) -> str:
        raise GenerationError("the extractive generator has no language model to complete a prompt")
