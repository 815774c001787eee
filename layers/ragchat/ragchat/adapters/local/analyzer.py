"""The keyword analyzer of the local store: lower-case words, English stop words out, Porter stems.

The same analysis as OpenSearch's `ragchat_english` analyzer (adapters/aws/chunks_index.json),
so BM25 behaves alike on a laptop and on AWS.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

import Stemmer

from ragchat.text import STOPWORDS

_WORD = re.compile(r"\w+")
_stemmer = Stemmer.Stemmer("porter")


def _fold(text: str) -> str:
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def analyze(text: str) -> list[str]:
    words = [w for w in _WORD.findall(_fold(text)) if w not in STOPWORDS]
    return _stemmer.stemWords(words)


def weighted_terms(fields: list[tuple[str, float]]) -> tuple[Counter, float]:
    """BM25F-style: each field's term counts times its weight, summed; and the weighted length."""
    counts: Counter = Counter()
    length = 0.0
    for text, weight in fields:
        terms = analyze(text)
        length += weight * len(terms)
        for term, count in Counter(terms).items():
            counts[term] += weight * count
    return counts, length
