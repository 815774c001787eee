"""The ports of the core: small Protocols that local and AWS adapters implement."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, runtime_checkable

from ragchat.domain import (
    Charge,
    Chunk,
    DocumentRecord,
    Filters,
    GenerationRequest,
    GenerationResult,
    Message,
    ParsedDocument,
    PresignedUpload,
    ScoredChunk,
    Session,
    SourceObject,
    ToolContext,
    ToolOutput,
    UploadOutcome,
)

# A batch of vectors: a numpy array or a list of lists; the core never needs numpy itself.
Vectors = Sequence[Sequence[float]]
Vector = Sequence[float]


@runtime_checkable
class DocumentSource(Protocol):
    """Where files come from: a folder locally, an S3 bucket on AWS."""

    root_uri: str  # every object's uri starts with this; scopes removal of vanished files

    def list(self) -> Iterable[SourceObject]: ...

    def read(self, obj: SourceObject) -> bytes:
        """The object's bytes; any failure to read is worth a retry."""

    def stat(self, key: str, version: str | None = None) -> SourceObject | None:
        """The object's current state (or that of one version, where the source keeps versions), or
        None if it no longer exists."""

    def uri_for(self, key: str) -> str:
        """The uri an object with this key has (also once it is gone)."""


class Chunker(Protocol):
    version: str  # part of the pipeline fingerprint: a new chunker re-ingests everything

    def split(self, parsed: ParsedDocument, obj: SourceObject, content_hash: str) -> list[Chunk]: ...


class DocumentEmbedder(Protocol):
    """Batch embedding at ingest. Vectors are L2-normalised rows."""

    model_id: str
    dimension: int

    def embed_documents(self, texts: Sequence[str]) -> Vectors: ...


class QueryEmbedder(Protocol):
    """One text at query time; must not load the model per call."""

    model_id: str
    dimension: int

    def embed_query(self, text: str) -> Vector: ...


class Embedder(DocumentEmbedder, QueryEmbedder, Protocol):
    pass


class ChunkStore(Protocol):
    """Documents, chunks and vectors, with keyword and vector search over them.

    Every adapter passes the contract in tests/contract/chunk_store_contract.py.
    """

    def ensure_embedding_space(self, model_id: str, dimension: int) -> None:
        """Record the embedding model on first use; raise EmbeddingSpaceMismatch on a later mismatch."""

    def get_document(self, doc_id: str) -> DocumentRecord | None:
        """The document as it stands (None if it was never written or was deleted)."""

    def stored_order(self, doc_id: str) -> str | None:
        """The order of the last write or ordered delete the store applied for the document."""

    def list_documents(self, uri_prefix: str | None = None) -> list[DocumentRecord]: ...

    def replace_documents(self, batch: Sequence[tuple[DocumentRecord, Sequence[Chunk], Vectors]]) -> list[str]:
        """Make each document's chunks exactly the given ones (of the record's generation); readers
        never see a document without chunks. A record whose `order` is not newer than the stored
        one's is refused and its chunks removed: return the ids of the documents so superseded."""

    def record_status(self, record: DocumentRecord) -> bool:
        """Record a document's status (skipped, failed, or indexed again); chunks of an earlier good
        version stay searchable. False, and nothing changed, when the record's order is not newer."""

    def delete_document(self, doc_id: str, order: str = "") -> int:
        """Remove a document and its chunks; return how many chunks went. With an order, the store
        remembers the deletion, so a write older than it is refused afterwards."""

    def sweep(self, doc_id: str) -> int:
        """Remove chunks of the document that are not of its current generation and can no longer
        become current (written by a superseded or abandoned write); return how many went."""

    def keyword_search(self, query: str, k: int, filters: Filters | None = None) -> list[ScoredChunk]: ...

    def vector_search(self, vector: Vector, k: int, filters: Filters | None = None) -> list[ScoredChunk]: ...

    def get_chunks(self, doc_id: str) -> list[Chunk]: ...

    def count_chunks(self) -> int: ...


class Retriever(Protocol):
    def search(
        self, query: str, k: int = 10, filters: Filters | None = None, mode: str = "hybrid"
    ) -> list[ScoredChunk]: ...


class Reranker(Protocol):
    """A second opinion on the top fused candidates (a cross-encoder behind an API): Bedrock's
    Rerank on AWS, any Cohere-style /v1/rerank endpoint locally. The retriever gives it a latency
    budget and keeps the fused order when it fails or is late."""

    name: str

    def rerank(self, query: str, passages: Sequence[str], timeout_s: float) -> list[float]:
        """One relevance score per passage, in the passages' order (higher is more relevant).
        Raises on any failure; `timeout_s` bounds the call."""


class SessionStore(Protocol):
    """Conversations, one item per message, always scoped to the user who owns them.

    A session that belongs to another user is treated exactly like one that does not exist.
    Every adapter passes the contract in tests/contract/session_store_contract.py.
    """

    def create_session(self, user_id: str, title: str, session_id: str | None = None) -> Session: ...

    def get_session(self, user_id: str, session_id: str) -> Session | None: ...

    def list_sessions(self, user_id: str, limit: int = 50) -> list[Session]: ...

    def append_message(self, user_id: str, message: Message) -> None: ...

    def list_messages(self, user_id: str, session_id: str, limit: int | None = None) -> list[Message]:
        """Oldest first; with a limit, the most recent `limit` messages."""

    def delete_session(self, user_id: str, session_id: str) -> bool: ...


TextSink = Callable[[str], None]  # receives streamed text; raising stops the generator


class Generator(Protocol):
    """Streams an answer. Adapters: extractive (offline), OpenAI-compatible endpoint, Bedrock ConverseStream."""

    name: str
    uses_language_model: bool  # False for the extractive default: no prompt, no condensing by model
    supports_tools: bool  # True: honours `request.tools` and returns the model's tool calls

    def stream(self, request: GenerationRequest, on_text: TextSink) -> GenerationResult:
        """Stream one model reply. With `request.tools`, a reply may end in tool calls
        (`GenerationResult.tool_calls`, stop_reason "tool_use") instead of a finished answer."""

    def complete(self, system: str, prompt: str, max_tokens: int = 200) -> str:
        """One short non-streamed completion (used to rewrite follow-up questions)."""


class Tool(Protocol):
    """Something a model may call: a name, what it does, a JSON schema of its input, and `run`.

    `run` gets input already validated against the schema, and the context of the asking user
    (ragchat/tools/registry.py); it raises ToolFailed with a message the model can act on.
    """

    name: str
    description: str
    input_schema: dict

    def announce(self, args: dict) -> str:
        """What the user sees while the tool runs ("Searching: deploy steps")."""

    def run(self, args: dict, context: ToolContext) -> ToolOutput: ...


# -- the edges of a chat connection -----------------------------------------------------------
class ConnectionSink(Protocol):
    """Delivers frames to one WebSocket client: post_to_connection on AWS, the open socket locally."""

    def post(self, connection_id: str, data: str) -> None:
        """Deliver one frame; raise ClientGone if the connection is closed."""


class ConnectionStore(Protocol):
    """Which user a connection belongs to (recorded when it connects, from the verified identity)."""

    def put(self, connection_id: str, user_id: str, connected_at: float) -> None: ...

    def user_of(self, connection_id: str) -> str | None: ...

    def delete(self, connection_id: str) -> None: ...


class AnswersInFlight(Protocol):
    """Which connections have an answer being written: at most one per connection. In one process
    (the local server) a set in memory (ragchat/chat/in_flight.py); across Lambda invocations it
    needs a shared record, such as a conditional write on the connection's item."""

    def claim(self, connection_id: str) -> bool:
        """Mark an answer in flight; False if one already is."""

    def release(self, connection_id: str) -> None: ...


class Quotas(Protocol):
    """Counters of what identities spend, one per counter and window (a UTC minute or day); the
    policy that picks the counters and limits is ragchat/chat/quota.py. Locally SQLite, on AWS
    DynamoDB; every adapter passes tests/contract/quotas_contract.py."""

    def take(self, charges: Sequence[Charge], now: float) -> Charge | None:
        """Add each charge's amount to its counter in the window that holds `now`, all or none: if
        a counter would pass its limit, none is left changed and the first such charge is returned.
        Concurrent takes never let a counter past its limit."""

    def add(self, counter: str, window: str, amount: int, now: float) -> None:
        """Add to a counter whatever its limit (what an answer spent, known only once it is done)."""


# -- documents entering and leaving through an API --------------------------------------------
class DocumentFiles(Protocol):
    """Where the files of documents live, for users who add and remove them: the drop folder
    locally, the S3 bucket on AWS.

    Refusals are UploadRefused subclasses (unsupported, too large, not accepted this way).
    """

    upload_method: str  # "direct" (upload) or "presigned" (presign, then the client PUTs the file)

    def upload(self, filename: str, data: bytes, user_id: str) -> UploadOutcome:
        """Store and ingest one file directly (locally); the AWS library refuses."""

    def presign(self, filename: str, user_id: str) -> PresignedUpload:
        """A URL the client uploads to (on AWS); the local library refuses."""

    def delete(self, record: DocumentRecord) -> int:
        """Remove a document's file and its chunks; return how many chunks went."""
