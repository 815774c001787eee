"""Text helpers shared by chunking and keyword search: tokens, sentences, stop words.

A "token" here is a word or a punctuation mark. It runs about 0.8 of a WordPiece/BPE token
on English prose, needs no model, and is the same on Lambda and on a laptop.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\w+|[^\w\s]")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_BLANK_LINES = re.compile(r"\n\s*\n")
_SPACES = re.compile(r"[ \t\f\v\r]+")

# Lucene's English stop words (the set Elasticsearch's `english` analyzer drops).
STOPWORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their "
    "then there these they this to was will with".split()
)


def count_tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


def token_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _TOKEN.finditer(text)]


def split_paragraphs(text: str) -> list[str]:
    return [p.strip() for p in _BLANK_LINES.split(text) if p.strip()]


def split_sentences(paragraph: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(paragraph) if s.strip()]


def normalise_whitespace(text: str) -> str:
    """Collapse runs of spaces inside lines and runs of blank lines, keep paragraph breaks."""
    lines = [_SPACES.sub(" ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def clip_line(text: str, limit: int) -> str:
    """One line of at most `limit` characters: whitespace runs collapsed, a cut marked with `…`."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def clip_utf8(text: str, limit: int) -> str:
    """The longest start of `text` within `limit` UTF-8 bytes (never half a character)."""
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")
