"""A ragchat knowledge base as a LangChain retriever."""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables.config import run_in_executor
from pydantic import Field, field_validator

from ragchat.access import check_user_id, scoped
from ragchat.config import Settings
from ragchat.domain import Filters, ScoredChunk
from ragchat.errors import ConfigurationError
from ragchat.retrieval.retriever import MAX_K


def document_of(hit: ScoredChunk) -> Document:
    """A retrieved chunk as a LangChain Document: its text, and where it came from."""
    chunk = hit.chunk
    return Document(id=chunk.chunk_id, page_content=chunk.text, metadata={
        "chunk_id": chunk.chunk_id, "doc_id": chunk.doc_id, "title": chunk.title,
        "heading_path": list(chunk.heading_path), "page": chunk.page, "uri": chunk.uri, "path": chunk.path,
        "doc_type": chunk.doc_type, "score": hit.score,
    })


class RagchatRetriever(BaseRetriever):
    """ragchat's retrieval (hybrid BM25 + vector search by default) as a LangChain retriever.

    `user_id` narrows every search to what that user may see (their own uploads and the shared
    library, ragchat/access.py); None searches every document, as the CLI does.
    """

    retriever: Any  # ragchat's Retriever port, e.g. `build_core(settings).retriever`
    k: int = Field(default=Settings.chat_sources, ge=1, le=MAX_K)
    mode: Literal["hybrid", "bm25", "dense"] = "hybrid"
    filters: Filters | None = None
    user_id: str | None = None

    @field_validator("retriever")
    @classmethod
    def _searches(cls, value: Any) -> Any:
        if not callable(getattr(value, "search", None)):
            raise ValueError("retriever must be a ragchat Retriever (for example build_core(settings).retriever)")
        return value

    @field_validator("user_id")
    @classmethod
    def _scopable(cls, value: str | None) -> str | None:
        return None if value is None else check_user_id(value)

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, embedder=None, **fields: Any) -> RagchatRetriever:
        """Over the knowledge base the settings name: by default the environment, as the `ragchat`
        command reads it (RAGCHAT_DATA_DIR, RAGCHAT_BACKEND, ...). `k` defaults to RAGCHAT_CHAT_SOURCES."""
        from ragchat.bootstrap import build_core

        settings = settings or Settings.from_env()
        if settings.backend == "local" and not settings.store_path.exists():
            raise ConfigurationError(f"no knowledge base at {settings.store_path}: run `ragchat ingest` first, "
                                     "or point RAGCHAT_DATA_DIR at the folder that holds one")
        core = build_core(settings, embedder=embedder)
        return cls(retriever=core.retriever, **{"k": settings.chat_sources, **fields})

    def for_user(self, user_id: str) -> RagchatRetriever:
        """The same retriever, narrowed to what `user_id` may see (one per request in a multi-user app)."""
        return self.model_copy(update={"user_id": check_user_id(user_id)})

    def _search(self, query: str) -> list[Document]:
        filters = scoped(self.filters, self.user_id) if self.user_id else self.filters
        return [document_of(hit) for hit in self.retriever.search(query, k=self.k, filters=filters, mode=self.mode)]

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return self._search(query)

    async def _aget_relevant_documents(self, query: str, *,
                                       run_manager: AsyncCallbackManagerForRetrieverRun) -> list[Document]:
        # the store and the embedding model are synchronous: search on a worker thread, not the event loop
        return await run_in_executor(None, self._search, query)
