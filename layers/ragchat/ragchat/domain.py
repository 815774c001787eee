"""Plain data types shared by every stage. No I/O, no AWS, no HTTP."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal

DocStatus = Literal["indexed", "skipped", "failed"]


def stable_id(*parts: str, length: int = 20) -> str:
    """A short deterministic id: the same parts always give the same id."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:length]


@dataclass(frozen=True)
class SourceObject:
    """One file as a document source lists it (a file in a folder, an S3 object, a corpus entry).

    `key` is the path inside the source (S3 key or path relative to the folder); `uri` is
    globally unique (file:///abs/path, s3://bucket/key) and is what a document id derives from.
    """

    key: str
    uri: str
    size: int
    media_type: str | None = None  # overrides the guess from the file extension
    title: str | None = None  # a title the source knows better than the parser would
    version: str | None = None  # S3 version id / etag, or mtime for a folder

    @property
    def doc_id(self) -> str:
        return stable_id(self.uri)

    @property
    def extension(self) -> str:
        name = self.key.rsplit("/", 1)[-1]
        return name.rsplit(".", 1)[-1].lower() if "." in name else ""


@dataclass(frozen=True)
class Section:
    """A run of text under one heading path (and on one page, where the format has pages)."""

    text: str
    heading_path: tuple[str, ...] = ()
    page: int | None = None


@dataclass(frozen=True)
class ParsedDocument:
    title: str
    sections: tuple[Section, ...]
    doc_type: str

    @property
    def is_empty(self) -> bool:
        return not any(s.text.strip() for s in self.sections)


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_id: str
    position: int
    text: str
    title: str
    heading_path: tuple[str, ...] = ()
    page: int | None = None
    token_count: int = 0
    path: str = ""  # the document's key, for prefix filters and display
    uri: str = ""
    doc_type: str = ""

    @property
    def embedding_text(self) -> str:
        """What the embedder sees: the body with its title and headings as context."""
        headings = [h for h in self.heading_path if h and h != self.title]
        context = " > ".join(part for part in (self.title, *headings) if part)
        return f"{context}\n\n{self.text}" if context else self.text


@dataclass(frozen=True)
class DocumentRecord:
    """What a store keeps about one document besides its chunks: identity, version, status."""

    doc_id: str
    uri: str
    path: str
    title: str
    doc_type: str
    content_hash: str
    pipeline_version: str
    size: int
    status: DocStatus
    reason: str = ""
    chunk_count: int = 0
    updated_at: float = 0.0


@dataclass(frozen=True)
class Filters:
    """Metadata filters every store applies before ranking."""

    path_prefix: str | None = None
    doc_types: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.path_prefix or self.doc_types or self.doc_ids)


@dataclass(frozen=True)
class ScoredChunk:
    chunk: Chunk
    score: float
    ranks: dict[str, int] = field(default_factory=dict)  # 1-based rank in each arm it came from


@dataclass
class IngestReport:
    """The summary of one ingest run, as the CLI prints it."""

    seen: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks_written: int = 0
    chunks_deleted: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    seconds: float = 0.0

    @property
    def failed(self) -> int:
        return len(self.skipped)
