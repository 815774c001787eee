"""Plain data types shared by every stage. No I/O, no AWS, no HTTP."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field, replace
from typing import Literal

from ragchat.text import clip_line

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
    order: str = ""  # where this version stands among the key's writes (ordering.py); "" when unknown
    url: str = ""  # where the public reads the document (S3 object metadata `url`), already checked

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
    url: str = ""  # the document's public address: its front matter's `url:`, its canonical link, or the source's

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
    url: str = ""  # the document's public address, where citations link (empty: none)

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
    order: str = ""  # the order of the write that made this record (ordering.py); "" when unordered
    generation: str = ""  # the write that produced the current chunks; other generations are stale
    url: str = ""  # the document's public address (ParsedDocument.url)


@dataclass(frozen=True)
class Filters:
    """Metadata filters every store applies before ranking."""

    path_prefix: str | None = None
    doc_types: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()
    visible_to: str | None = None  # only what this user may see (ragchat/access.py); None: everything

    @property
    def is_empty(self) -> bool:
        return not (self.path_prefix or self.doc_types or self.doc_ids or self.visible_to)


@dataclass(frozen=True)
class ScoredChunk:
    chunk: Chunk
    score: float
    ranks: dict[str, int] = field(default_factory=dict)  # 1-based rank in each arm it came from
    arm_scores: dict[str, float] = field(default_factory=dict)  # raw score in each arm (BM25, cosine)


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
    superseded: int = 0  # writes refused because a newer write of the same file stands
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): no retry will help
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): a retry may help
    seconds: float = 0.0

    def add(self, other: IngestReport) -> None:
        """Fold another run's figures into this one."""
        for name in ("seen", "added", "updated", "unchanged", "removed", "superseded", "chunks_written",
                     "chunks_deleted", "seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.rejected.extend(other.rejected)
        self.failed.extend(other.failed)


@dataclass(frozen=True)
class UploadOutcome:
    """What became of one uploaded file."""

    path: str
    status: DocStatus
    reason: str = ""
    chunks: int = 0

    def as_dict(self) -> dict:
        return {"path": self.path, "status": self.status, "reason": self.reason, "chunks": self.chunks}


@dataclass(frozen=True)
class PresignedUpload:
    """Where and how a client uploads one file itself."""

    method: str
    url: str
    key: str
    expires_in: int

    def as_dict(self) -> dict:
        return {"method": self.method, "url": self.url, "key": self.key, "expiresIn": self.expires_in}


# -- conversations -----------------------------------------------------------------------------
Role = Literal["user", "assistant"]
# What a document calls itself travels with every source, citation and stored message: bounded.
TITLE_CHARS = 200
HEADING_CHARS = 200
HEADING_DEPTH = 8


def clip_title(title: str) -> str:
    return clip_line(title, TITLE_CHARS)


def clip_heading_path(path: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(clip_line(h, HEADING_CHARS) for h in path[:HEADING_DEPTH])


@dataclass(frozen=True)
class Source:
    """A retrieved chunk as the user sees it: numbered, with where it came from."""

    number: int
    chunk_id: str
    doc_id: str
    title: str
    uri: str
    path: str
    heading_path: tuple[str, ...]
    page: int | None
    snippet: str
    score: float
    url: str = ""  # the document's public address, when it has one

    def as_dict(self) -> dict:
        return {
            "n": self.number, "chunkId": self.chunk_id, "docId": self.doc_id, "title": self.title, "uri": self.uri,
            "path": self.path, "headingPath": list(self.heading_path), "page": self.page,
            "snippet": self.snippet, "score": round(self.score, 6), "url": self.url,
        }

    def clipped(self) -> Source:
        """This source with its title and heading path within their limits (sources stored before
        titles were clipped at parse time may carry any length)."""
        return replace(self, title=clip_title(self.title), heading_path=clip_heading_path(self.heading_path))

    @classmethod
    def from_dict(cls, data: dict) -> Source:
        """The inverse of as_dict (sessions store citations this way)."""
        return cls(number=data["n"], chunk_id=data["chunkId"], doc_id=data["docId"], title=data["title"],
                   uri=data["uri"], path=data["path"], heading_path=tuple(data["headingPath"]), page=data["page"],
                   snippet=data["snippet"], score=data["score"], url=data.get("url") or "")


@dataclass(frozen=True)
class Message:
    message_id: str
    session_id: str
    role: Role
    content: str
    created_at: float
    citations: tuple[Source, ...] = ()  # for assistant messages: exactly the sources cited
    request_id: str | None = None

    def as_dict(self) -> dict:
        return {
            "messageId": self.message_id, "sessionId": self.session_id, "role": self.role, "content": self.content,
            "createdAt": self.created_at, "citations": [c.as_dict() for c in self.citations],
            "requestId": self.request_id,
        }


@dataclass(frozen=True)
class Session:
    session_id: str
    user_id: str
    title: str
    created_at: float
    updated_at: float

    def as_dict(self) -> dict:
        return {"sessionId": self.session_id, "title": self.title, "createdAt": self.created_at,
                "updatedAt": self.updated_at}


# -- generation --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ToolSpec:
    """What a model is told about a tool: its name, what it does, and a JSON schema of its input."""

    name: str
    description: str
    input_schema: dict


@dataclass(frozen=True)
class ToolCall:
    """A model's request to run a tool. `input` is None when the model's arguments were not JSON
    (then `input_error` says why, and the call is answered with an error result, never run)."""

    call_id: str
    name: str
    input: dict | None
    input_error: str = ""


@dataclass(frozen=True)
class ToolResult:
    call_id: str
    content: str  # what the model reads: text, with numbered sources where a tool found passages
    is_error: bool = False


@dataclass(frozen=True)
class Turn:
    """One message of a conversation with a model. Besides text, an assistant turn may ask for
    tools (`tool_calls`) and the user turn after it answers them (`tool_results`)."""

    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_results: tuple[ToolResult, ...] = ()


@dataclass(frozen=True)
class GenerationRequest:
    """What a generator gets: a rendered prompt for language models, and the structured parts
    (the standalone question, the numbered sources) for generators that work without one."""

    system: str
    turns: tuple[Turn, ...]  # history, then the user turn that carries the sources
    question: str
    sources: tuple[Source, ...]
    passages: tuple[str, ...] = ()  # the full text of each source, in the same order
    max_tokens: int = 800
    temperature: float = 0.2
    tools: tuple[ToolSpec, ...] = ()  # offered to a model that supports tool use


@dataclass(frozen=True)
class GenerationResult:
    stop_reason: str  # "end_turn", "max_tokens", "tool_use", "guardrail"
    input_tokens: int = 0
    output_tokens: int = 0
    text: str = ""  # everything streamed in this call (the loop needs it for the next turn)
    tool_calls: tuple[ToolCall, ...] = ()


# -- tools -------------------------------------------------------------------------------------
SNIPPET_CHARS = 300


def source_of(number: int, chunk: Chunk, score: float) -> Source:
    snippet = " ".join(chunk.text.split())
    if len(snippet) > SNIPPET_CHARS:
        snippet = snippet[:SNIPPET_CHARS].rsplit(" ", 1)[0] + "…"
    return Source(number=number, chunk_id=chunk.chunk_id, doc_id=chunk.doc_id, title=clip_title(chunk.title),
                  uri=chunk.uri, path=chunk.path, heading_path=clip_heading_path(chunk.heading_path), page=chunk.page,
                  snippet=snippet, score=score, url=chunk.url)


class SourceBook:
    """The numbered sources of one answer. Every tool that finds passages adds them here, so a
    chunk keeps its number however often it is found and citations stay consistent across steps."""

    def __init__(self) -> None:
        self.sources: list[Source] = []
        self.passages: list[str] = []
        self.numbers: set[int] = set()  # live: the citation filter reads it as sources join
        self._by_chunk: dict[str, Source] = {}

    def add(self, chunk: Chunk, score: float = 0.0) -> Source:
        known = self._by_chunk.get(chunk.chunk_id)
        if known is not None:
            return known
        source = source_of(len(self.sources) + 1, chunk, score)
        self.sources.append(source)
        self.passages.append(chunk.text)
        self.numbers.add(source.number)
        self._by_chunk[chunk.chunk_id] = source
        return source


@dataclass
class ToolContext:
    """What a tool knows besides its input: who asks (never taken from the model) and the answer's sources."""

    user_id: str
    sources: SourceBook


@dataclass(frozen=True)
class ToolOutput:
    content: str  # what the model reads
    summary: str  # what the user sees when the tool is done ("4 passages from 3 documents")


# -- quotas ------------------------------------------------------------------------------------
WINDOW_SECONDS = {"minute": 60, "day": 86400}  # fixed windows: a UTC minute, a UTC day


def window_start(window: str, now: float) -> int:
    length = WINDOW_SECONDS[window]
    return int(now // length) * length


def seconds_left(window: str, now: float) -> int:
    """Whole seconds until the window that holds `now` ends (at least 1): a refusal's retryAfter."""
    return max(1, math.ceil(window_start(window, now) + WINDOW_SECONDS[window] - now))


@dataclass(frozen=True)
class Charge:
    """What one request adds to one counter of the current window, and the counter's limit. An
    amount of 0 only checks that the counter is still below its limit (tokens, known only after
    the answer, are added then)."""

    counter: str  # who or what spends: "messages:visitor:…", "messages:address:…", "tokens:*"
    window: str  # "minute" or "day"
    amount: int
    limit: int

    def fits(self, current: int) -> bool:
        return current + max(self.amount, 1) <= self.limit
