"""The composition root: builds the adapter set the settings ask for, and nothing else."""

from __future__ import annotations

from dataclasses import dataclass

from ragchat.config import Settings
from ragchat.errors import ConfigurationError
from ragchat.ingest.chunking import StructuredChunker
from ragchat.ingest.pipeline import IngestPipeline
from ragchat.ports import ChunkStore, Embedder
from ragchat.retrieval.retriever import HybridRetriever


@dataclass
class Services:
    settings: Settings
    store: ChunkStore
    embedder: Embedder
    pipeline: IngestPipeline
    retriever: HybridRetriever


def _local_store(settings: Settings) -> ChunkStore:
    from ragchat.adapters.local.sqlite_store import SqliteChunkStore

    return SqliteChunkStore(settings.store_path)


def _local_embedder(settings: Settings) -> Embedder:
    from ragchat.adapters.local.embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(batch_size=settings.embed_batch_size)


# backend name -> (store factory, embedder factory)
ADAPTER_SETS = {"local": (_local_store, _local_embedder)}


def build(settings: Settings, store: ChunkStore | None = None, embedder: Embedder | None = None) -> Services:
    """Wire the core to adapters; pass `store` or `embedder` to replace one (tests, benchmarks)."""
    if settings.backend not in ADAPTER_SETS:
        raise ConfigurationError(
            f"RAGCHAT_BACKEND={settings.backend!r} is not one of: {', '.join(sorted(ADAPTER_SETS))}")
    make_store, make_embedder = ADAPTER_SETS[settings.backend]
    store = store if store is not None else make_store(settings)
    embedder = embedder if embedder is not None else make_embedder(settings)
    chunker = StructuredChunker(settings.chunk_tokens, settings.chunk_overlap)
    pipeline = IngestPipeline(store, embedder, chunker, max_file_bytes=int(settings.max_file_mb * 1024 * 1024))
    retriever = HybridRetriever(store, embedder, candidates=settings.retrieval_candidates, rrf_k=settings.rrf_k)
    return Services(settings, store, embedder, pipeline, retriever)
