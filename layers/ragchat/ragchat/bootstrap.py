"""The composition root: builds the adapter set the settings ask for, and nothing else."""

from __future__ import annotations

from dataclasses import dataclass

from ragchat.config import Settings
from ragchat.errors import ConfigurationError
from ragchat.ingest.chunking import StructuredChunker
from ragchat.ingest.pipeline import IngestPipeline
from ragchat.ports import ChunkStore, Embedder, Generator, SessionStore
from ragchat.retrieval.retriever import HybridRetriever


@dataclass
class Services:
    settings: Settings
    store: ChunkStore
    embedder: Embedder
    pipeline: IngestPipeline
    retriever: HybridRetriever


def _local_store(settings: Settings, embedder: Embedder) -> ChunkStore:
    from ragchat.adapters.local.sqlite_store import SqliteChunkStore

    return SqliteChunkStore(settings.store_path, vector_scorer=getattr(embedder, "score_vectors", None))


def _local_embedder(settings: Settings) -> Embedder:
    from ragchat.adapters.local.embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(batch_size=settings.embed_batch_size)


def _aws_store(settings: Settings, embedder: Embedder) -> ChunkStore:
    from ragchat.adapters.aws.opensearch_store import OpenSearchChunkStore

    if not settings.opensearch_endpoint:
        raise ConfigurationError("RAGCHAT_OPENSEARCH_ENDPOINT is required with RAGCHAT_BACKEND=aws")
    region = settings.aws_region or _region()
    return OpenSearchChunkStore.for_collection(settings.opensearch_endpoint, region, settings.index_prefix)


def _aws_embedder(settings: Settings) -> Embedder:
    from ragchat.adapters.aws.bedrock_embedder import BedrockTitanEmbedder

    return BedrockTitanEmbedder(settings.bedrock_embedding_model, settings.embedding_dimension,
                                concurrency=settings.embedding_concurrency, region=settings.aws_region or None)


def _region() -> str:
    import os

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise ConfigurationError("set AWS_REGION (or RAGCHAT_AWS_REGION) for the AWS adapters")
    return region


# backend name -> (store factory taking the embedder, embedder factory)
ADAPTER_SETS = {"local": (_local_store, _local_embedder), "aws": (_aws_store, _aws_embedder)}


def build(settings: Settings, store: ChunkStore | None = None, embedder: Embedder | None = None) -> Services:
    """Wire the core to adapters; pass `store` or `embedder` to replace one (tests, benchmarks)."""
    if settings.backend not in ADAPTER_SETS:
        raise ConfigurationError(
            f"RAGCHAT_BACKEND={settings.backend!r} is not one of: {', '.join(sorted(ADAPTER_SETS))}")
    make_store, make_embedder = ADAPTER_SETS[settings.backend]
    embedder = embedder if embedder is not None else make_embedder(settings)
    store = store if store is not None else make_store(settings, embedder)
    chunker = StructuredChunker(settings.chunk_tokens, settings.chunk_overlap)
    pipeline = IngestPipeline(store, embedder, chunker, max_file_bytes=int(settings.max_file_mb * 1024 * 1024))
    retriever = HybridRetriever(store, embedder, candidates=settings.retrieval_candidates, rrf_k=settings.rrf_k)
    return Services(settings, store, embedder, pipeline, retriever)


def build_generator(settings: Settings, embedder: Embedder | None = None) -> Generator:
    if settings.generator == "extractive":
        from ragchat.adapters.local.extractive import ExtractiveGenerator

        return ExtractiveGenerator(embedder=embedder)
    if settings.generator == "openai":
        from ragchat.adapters.openai_compat import OpenAICompatibleGenerator

        return OpenAICompatibleGenerator(settings.openai_base_url, settings.openai_model, settings.openai_api_key)
    if settings.generator == "bedrock":
        from ragchat.adapters.aws.bedrock import BedrockConverseGenerator

        return BedrockConverseGenerator(settings.bedrock_model_id, region=settings.aws_region or None)
    raise ConfigurationError(f"RAGCHAT_GENERATOR={settings.generator!r} is not one of: extractive, openai, bedrock")


def build_sessions(settings: Settings) -> SessionStore:
    if settings.backend == "aws":
        from ragchat.adapters.aws.dynamodb_sessions import DynamoDbSessionStore

        if not settings.sessions_table:
            raise ConfigurationError("RAGCHAT_SESSIONS_TABLE is required with RAGCHAT_BACKEND=aws")
        return DynamoDbSessionStore(settings.sessions_table)
    from ragchat.adapters.local.sessions import SqliteSessionStore

    return SqliteSessionStore(settings.sessions_path)


def build_tools(services: Services, generator: Generator):
    """The tool registry, or None where tools are off or the generator cannot use them."""
    from ragchat.chat.service import relevance_gate

    settings = services.settings
    if settings.tools not in ("auto", "off"):
        raise ConfigurationError(f"RAGCHAT_TOOLS={settings.tools!r} is not one of: auto, off")
    if settings.tools == "off" or not generator.supports_tools:
        return None
    from ragchat.tools import default_tools

    return default_tools(services.retriever, services.store, relevance_gate(settings.min_similarity))


def build_chat(services: Services, generator: Generator | None = None, sessions: SessionStore | None = None):
    """The chat service over already-built services (the query side)."""
    from ragchat.chat.service import ChatService, ChatSettings
    from ragchat.chat.tool_loop import LoopLimits

    settings = services.settings
    generator = generator or build_generator(settings, services.embedder)
    return ChatService(
        services.retriever, generator, sessions or build_sessions(settings),
        ChatSettings(k=settings.chat_sources, min_similarity=settings.min_similarity,
                     history_tokens=settings.history_tokens, max_answer_tokens=settings.max_answer_tokens),
        tools=build_tools(services, generator),
        limits=LoopLimits(max_steps=settings.tool_max_steps, max_tokens=settings.tool_max_tokens,
                          max_seconds=settings.tool_max_seconds),
    )
