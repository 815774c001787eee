"""Structure-first chunking with overlap and provenance.

Sections (headings, pages) are never mixed in one chunk. Inside a section, whole paragraphs
are packed while they fit; a paragraph that does not fit is packed sentence by sentence; a
sentence longer than a chunk is cut on token boundaries. Each new chunk inside a section
starts with the last sentences of the previous one, up to `overlap` tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from ragchat.domain import Chunk, ParsedDocument, Section, SourceObject, stable_id
from ragchat.text import count_tokens, split_paragraphs, split_sentences, token_spans


@dataclass(frozen=True)
class _Piece:
    text: str
    tokens: int
    starts_paragraph: bool


def _cut_long_sentence(sentence: str, max_tokens: int) -> list[str]:
    spans = token_spans(sentence)
    return [
        sentence[spans[i][0]:spans[min(i + max_tokens, len(spans)) - 1][1]]
        for i in range(0, len(spans), max_tokens)
    ]


def _pieces(text: str, max_tokens: int) -> list[_Piece]:
    pieces: list[_Piece] = []
    for paragraph in split_paragraphs(text):
        tokens = count_tokens(paragraph)
        if tokens <= max_tokens:
            pieces.append(_Piece(paragraph, tokens, True))
            continue
        first = True
        for sentence in split_sentences(paragraph):
            parts = [sentence] if count_tokens(sentence) <= max_tokens else _cut_long_sentence(sentence, max_tokens)
            for part in parts:
                pieces.append(_Piece(part, count_tokens(part), first))
                first = False
    return pieces


def _join(pieces: list[_Piece]) -> str:
    out = ""
    for piece in pieces:
        if out:
            out += "\n\n" if piece.starts_paragraph else " "
        out += piece.text
    return out


def _overlap_tail(pieces: list[_Piece], budget: int) -> list[_Piece]:
    """The trailing sentences of a chunk that fit in the overlap budget."""
    tail: list[_Piece] = []
    used = 0
    for piece in reversed(pieces):
        sentences = split_sentences(piece.text) if piece.tokens > budget else [piece.text]
        for sentence in reversed(sentences):
            tokens = count_tokens(sentence)
            if used + tokens > budget:
                return tail
            tail.insert(0, _Piece(sentence, tokens, False))
            used += tokens
    return tail


class StructuredChunker:
    """Token-sized chunks that keep title, heading path, page and position."""

    def __init__(self, max_tokens: int = 200, overlap: int = 30):
        if max_tokens < 20:
            raise ValueError("max_tokens must be at least 20")
        if not 0 <= overlap < max_tokens // 2:
            raise ValueError("overlap must be between 0 and half of max_tokens")
        self.max_tokens = max_tokens
        self.overlap = overlap
        self.version = f"structured-v1:{max_tokens}:{overlap}"

    def _split_section(self, section: Section) -> list[str]:
        texts: list[str] = []
        current: list[_Piece] = []
        size = 0
        for piece in _pieces(section.text, self.max_tokens):
            if current and size + piece.tokens > self.max_tokens:
                texts.append(_join(current))
                current = _overlap_tail(current, self.overlap) if self.overlap else []
                size = sum(p.tokens for p in current)
                if size + piece.tokens > self.max_tokens:
                    current, size = [], 0
            current.append(piece)
            size += piece.tokens
        if current:
            texts.append(_join(current))
        return texts

    def split(self, parsed: ParsedDocument, obj: SourceObject, content_hash: str) -> list[Chunk]:
        doc_id = obj.doc_id
        chunks: list[Chunk] = []
        for section in parsed.sections:
            for text in self._split_section(section):
                position = len(chunks)
                chunks.append(
                    Chunk(
                        chunk_id=stable_id(doc_id, content_hash, str(position)),
                        doc_id=doc_id,
                        position=position,
                        text=text,
                        title=parsed.title,
                        heading_path=section.heading_path,
                        page=section.page,
                        token_count=count_tokens(text),
                        path=obj.key,
                        uri=obj.uri,
                        doc_type=parsed.doc_type,
                        url=parsed.url,
                    )
                )
        return chunks
