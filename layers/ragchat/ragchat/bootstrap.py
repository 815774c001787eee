"""The composition root: builds what each entry point needs from Settings, and nothing else.

Entry points: the CLI (`build_core`, `build_chat`), the local server (`build_local_server`) and
each Lambda function (`build_*_function`). Every builder takes the parts a caller wants to supply
itself (a store, an embedder, a model, an AWS client) as keyword parameters; tests inject fakes
that way, never by patching this module. Heavy libraries are imported inside the builder that
needs them, so a Lambda function loads only its own adapters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ragchat.config import Settings
from ragchat.errors import ConfigurationError
from ragchat.ports import (
    AnswersInFlight,
    ChunkStore,
    ConnectionSink,
    ConnectionStore,
    DocumentFiles,
    DocumentSource,
    Embedder,
    Generator,
    Quotas,
    Reranker,
    SessionStore,
)

if TYPE_CHECKING:
    from ragchat.aws_lambda.authorizer import Authorizer
    from ragchat.aws_lambda.chat import WebSocketFunction
    from ragchat.aws_lambda.ingest import IngestFunction
    from ragchat.chat.endpoint import ChatEndpoint
    from ragchat.chat.quota import QuotaPolicy
    from ragchat.chat.service import ChatService, ChatSettings
    from ragchat.chat.tool_loop import LoopLimits
    from ragchat.ingest.pipeline import IngestPipeline
    from ragchat.retrieval.retriever import Fusion, HybridRetriever, Reranking
    from ragchat.server.watcher import FolderWatcher
    from ragchat.tools.registry import ToolRegistry

GENERATORS = ("extractive", "openai", "bedrock", "langchain")
BACKENDS = ("local", "aws")


@dataclass
class Core:
    """Ingest and retrieval over one store: what every entry point starts from."""

    settings: Settings
    store: ChunkStore
    embedder: Embedder
    pipeline: IngestPipeline
    retriever: HybridRetriever


# -- the core ----------------------------------------------------------------------------------
def build_embedder(settings: Settings) -> Embedder:
    if settings.backend == "aws":
        from ragchat.adapters.aws.bedrock_embedder import BedrockTitanEmbedder

        return BedrockTitanEmbedder(settings.bedrock_embedding_model, settings.embedding_dimension,
                                    concurrency=settings.embedding_concurrency, region=settings.aws_region or None)
    from ragchat.adapters.local.embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(batch_size=settings.embed_batch_size,
                                       query_cache_dir=settings.data_dir / "models")


def build_store(settings: Settings, embedder: Embedder | None) -> ChunkStore:
    if settings.backend == "aws":
        from ragchat.adapters.aws.dynamodb_documents import DynamoDbDocumentRecords
        from ragchat.adapters.aws.opensearch_store import OpenSearchChunkStore

        for value, name in ((settings.opensearch_endpoint, "RAGCHAT_OPENSEARCH_ENDPOINT"),
                            (settings.documents_table, "RAGCHAT_DOCUMENTS_TABLE")):
            if not value:
                raise ConfigurationError(f"{name} is required with RAGCHAT_BACKEND=aws")
        if not settings.aws_region:
            raise ConfigurationError("set AWS_REGION (or RAGCHAT_AWS_REGION) for the AWS adapters")
        schedule_sweep = None
        if settings.sweep_queue_url:
            from ragchat.adapters.aws.sqs_sweeps import SqsSweepScheduler

            schedule_sweep = SqsSweepScheduler(settings.sweep_queue_url, settings.sweep_after_seconds)
        return OpenSearchChunkStore.for_collection(
            settings.opensearch_endpoint, settings.aws_region, DynamoDbDocumentRecords(settings.documents_table),
            settings.index_prefix, schedule_sweep=schedule_sweep, sweep_after_s=settings.sweep_after_seconds)
    from ragchat.adapters.local.sqlite_store import SqliteChunkStore

    # the local embedder scores vectors on its own thread pool, so the two never compete for the cores
    return SqliteChunkStore(settings.store_path, vector_scorer=getattr(embedder, "score_vectors", None))


def build_core(settings: Settings, *, store: ChunkStore | None = None, embedder: Embedder | None = None) -> Core:
    """Wire ingest and retrieval to the adapters the settings name; `store` or `embedder` replace one."""
    from ragchat.ingest.chunking import StructuredChunker
    from ragchat.ingest.pipeline import IngestPipeline
    from ragchat.retrieval.retriever import HybridRetriever

    if settings.backend not in BACKENDS:
        raise ConfigurationError(f"RAGCHAT_BACKEND={settings.backend!r} is not one of: {', '.join(BACKENDS)}")
    embedder = embedder if embedder is not None else build_embedder(settings)
    store = store if store is not None else build_store(settings, embedder)
    chunker = StructuredChunker(settings.chunk_tokens, settings.chunk_overlap)
    pipeline = IngestPipeline(store, embedder, chunker, max_file_bytes=settings.max_file_bytes,
                              parse_seconds=settings.max_parse_seconds)
    retriever = HybridRetriever(store, embedder, candidates=settings.retrieval_candidates,
                                fusion=build_fusion(settings), reranking=build_reranking(settings))
    return Core(settings, store, embedder, pipeline, retriever)


def build_fusion(settings: Settings) -> Fusion:
    from ragchat.retrieval.retriever import Fusion

    try:
        return Fusion(settings.fusion, settings.fusion_dense_weight, settings.rrf_k)
    except ValueError as exc:
        raise ConfigurationError(f"RAGCHAT_FUSION / RAGCHAT_FUSION_DENSE_WEIGHT: {exc}") from exc


def build_reranking(settings: Settings, *, reranker: Reranker | None = None) -> Reranking | None:
    """The rerank stage the settings name (RAGCHAT_RERANKER), or None: off by default."""
    from ragchat.retrieval.retriever import Reranking

    if reranker is None:
        if settings.reranker == "":
            return None
        if settings.reranker == "bedrock":
            from ragchat.adapters.aws.bedrock_reranker import DEFAULT_MODEL, BedrockReranker

            reranker = BedrockReranker(settings.rerank_model or DEFAULT_MODEL, region=settings.aws_region or None,
                                       timeout_s=settings.rerank_budget_ms / 1000)
        elif settings.reranker == "http":
            from ragchat.adapters.http_reranker import HttpReranker

            if not settings.rerank_url:
                raise ConfigurationError("RAGCHAT_RERANKER=http needs RAGCHAT_RERANK_URL (the endpoint's base URL)")
            reranker = HttpReranker(settings.rerank_url, settings.rerank_model, settings.rerank_api_key)
        else:
            raise ConfigurationError(f"RAGCHAT_RERANKER={settings.reranker!r} is not one of: (empty), bedrock, http")
    if settings.rerank_candidates < 2 or settings.rerank_budget_ms <= 0:
        raise ConfigurationError("RAGCHAT_RERANK_CANDIDATES must be at least 2 and RAGCHAT_RERANK_BUDGET_MS positive")
    return Reranking(reranker, candidates=settings.rerank_candidates, budget_s=settings.rerank_budget_ms / 1000)


# -- the chat ----------------------------------------------------------------------------------
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
    if settings.generator == "langchain":  # an optional extra, never on a Lambda function's path
        from ragchat.integrations.langchain import generator_from_settings

        return generator_from_settings(settings)
    raise ConfigurationError(f"RAGCHAT_GENERATOR={settings.generator!r} is not one of: {', '.join(GENERATORS)}")


def build_sessions(settings: Settings) -> SessionStore:
    if settings.backend == "aws":
        from ragchat.adapters.aws.dynamodb_sessions import DynamoDbSessionStore

        if not settings.sessions_table:
            raise ConfigurationError("RAGCHAT_SESSIONS_TABLE is required with RAGCHAT_BACKEND=aws")
        return DynamoDbSessionStore(settings.sessions_table)
    from ragchat.adapters.local.sessions import SqliteSessionStore

    return SqliteSessionStore(settings.sessions_path)


def chat_settings(settings: Settings) -> ChatSettings:
    from ragchat.chat.service import ChatSettings

    return ChatSettings(sources=settings.chat_sources, min_similarity=settings.min_similarity,
                        history_tokens=settings.history_tokens, history_messages=settings.history_messages,
                        max_answer_tokens=settings.max_answer_tokens)


def loop_limits(settings: Settings) -> LoopLimits:
    from ragchat.chat.tool_loop import LoopLimits

    return LoopLimits(max_steps=settings.tool_max_steps, max_tokens=settings.tool_max_tokens,
                      max_seconds=settings.tool_max_seconds, max_calls_per_step=settings.tool_max_calls_per_step)


def build_tools(core: Core, generator: Generator) -> ToolRegistry | None:
    """The tool registry, or None where tools are off or the generator cannot use them."""
    settings = core.settings
    if settings.tools not in ("auto", "off"):
        raise ConfigurationError(f"RAGCHAT_TOOLS={settings.tools!r} is not one of: auto, off")
    if settings.tools == "off" or not generator.supports_tools:
        return None
    from ragchat.retrieval.relevance import relevance_gate
    from ragchat.tools import default_tools

    return default_tools(core.retriever, core.store, relevance_gate(settings.min_similarity))


def build_chat(core: Core, *, generator: Generator | None = None, sessions: SessionStore | None = None) -> ChatService:
    """The chat service over already-built core parts (the query side)."""
    from ragchat.chat.service import ChatService

    generator = generator or build_generator(core.settings, core.embedder)
    return ChatService(core.retriever, generator, sessions or build_sessions(core.settings),
                       chat_settings(core.settings), tools=build_tools(core, generator),
                       limits=loop_limits(core.settings))


def build_endpoint(chat: ChatService, sessions: SessionStore, connections: ConnectionStore,
                   sink: ConnectionSink, in_flight: AnswersInFlight | None = None,
                   quota: QuotaPolicy | None = None) -> ChatEndpoint:
    """`in_flight`: where answers in flight are marked (default: in this process); `quota`: what
    each question may spend (None: unlimited)."""
    from ragchat.chat.endpoint import ChatEndpoint

    return ChatEndpoint(chat, sessions, connections, sink, in_flight, quota)


# -- visitors and quotas -----------------------------------------------------------------------
def build_quotas(settings: Settings) -> Quotas:
    if settings.backend == "aws":
        from ragchat.adapters.aws.dynamodb_quotas import DynamoDbQuotas

        if not settings.quotas_table:
            raise ConfigurationError("RAGCHAT_QUOTAS_TABLE is required with RAGCHAT_BACKEND=aws")
        return DynamoDbQuotas(settings.quotas_table)
    from ragchat.adapters.local.quotas import SqliteQuotas

    return SqliteQuotas(settings.quotas_path)


def build_quota_policy(settings: Settings, quotas: Quotas | None = None) -> QuotaPolicy:
    """The limits of RAGCHAT_VISITOR_*, RAGCHAT_ADDRESS_*, RAGCHAT_USER_* and RAGCHAT_DAILY_TOKEN_BUDGET
    over the counters the settings name (or `quotas`)."""
    from ragchat.chat.quota import QuotaLimits, QuotaPolicy

    names = ("visitor_messages_per_minute", "visitor_messages_per_day", "address_messages_per_minute",
             "address_messages_per_day", "visitor_input_chars_per_day", "visitor_tokens_per_day",
             "user_input_chars_per_day", "user_tokens_per_day", "daily_token_budget")
    try:
        limits = QuotaLimits(**{name: getattr(settings, name) for name in names})
    except ValueError as exc:
        raise ConfigurationError(f"RAGCHAT_ quota settings: {exc}") from exc
    return QuotaPolicy(quotas if quotas is not None else build_quotas(settings), limits)


def visitor_origins(settings: Settings) -> frozenset[str]:
    """The sites whose pages may chat as visitors: none unless RAGCHAT_PUBLIC_CHAT is on."""
    from ragchat.origins import parse_origins

    if not settings.public_chat:
        return frozenset()
    try:
        origins = parse_origins(settings.allowed_origins)
    except ValueError as exc:
        raise ConfigurationError(f"RAGCHAT_ALLOWED_ORIGINS: {exc}") from exc
    if not origins:
        raise ConfigurationError("public chat needs RAGCHAT_ALLOWED_ORIGINS: the sites that embed the widget")
    return origins


# -- the local server --------------------------------------------------------------------------
@dataclass
class LocalServer:
    app: object  # the FastAPI app
    watcher: FolderWatcher | None


def build_local_server(settings: Settings, *, watch: Path | None, core: Core | None = None,
                       generator: Generator | None = None, identity=None, host: str = "127.0.0.1") -> LocalServer:
    """The chat page, the WebSocket endpoint and the REST API over one local core, and a watcher
    that ingests what lands in the drop folder `watch` (uploads land there too). `identity`
    replaces the local user and token check (tests act as another user with it). `host` is the
    address it will bind: with loopback and RAGCHAT_ALLOWED_HOSTS, the Host names it answers."""
    from ragchat.adapters.local.connections import InMemoryConnections
    from ragchat.adapters.local.drop_folder import DropFolderFiles
    from ragchat.documents import DocumentService
    from ragchat.server.app import HttpContext, create_app
    from ragchat.server.identity import local_identity, visitor_or_owner
    from ragchat.server.origin import served_hosts
    from ragchat.server.policy import connect_sources
    from ragchat.server.watcher import FolderWatcher
    from ragchat.server.websocket import LocalConnectionSink, LocalWebSocket

    origins = visitor_origins(settings)
    quota = build_quota_policy(settings)
    core = core or build_core(settings)
    sessions = build_sessions(settings)
    chat = build_chat(core, generator=generator, sessions=sessions)
    sockets = LocalConnectionSink()
    watcher = FolderWatcher(watch, core.pipeline) if watch is not None else None
    files = DropFolderFiles(core.store, watch, watcher.ingest_file if watcher else None, settings.max_file_bytes)
    owner = identity or local_identity(settings.local_token or None)
    app = create_app(HttpContext(
        store=core.store, sessions=sessions, documents=DocumentService(core.store, files, manage_shared=True),
        identity=owner, max_upload_bytes=settings.max_file_bytes,
        chat=LocalWebSocket(build_endpoint(chat, sessions, InMemoryConnections(), sockets, quota=quota), sockets),
        served_hosts=served_hosts(host, settings.allowed_hosts),
        same_origin_only=True, page_endpoints=connect_sources(settings.page_endpoints),
        socket_identity=visitor_or_owner(settings.local_token or None, origins, owner) if origins else None,
        chat_origins=origins))
    return LocalServer(app, watcher)


# -- the Lambda functions ----------------------------------------------------------------------
def build_ingest_function(settings: Settings, *, core: Core | None = None,
                          source_for: Callable[[str], DocumentSource] | None = None) -> IngestFunction:
    from ragchat.aws_lambda.ingest import IngestFunction

    if core is None and settings.backend == "aws" and not settings.sweep_queue_url:
        raise ConfigurationError("the ingest function needs RAGCHAT_SWEEP_QUEUE_URL (the queue that brings "
                                 "delayed sweeps back): without it, chunks a crashed or racing write left stay")
    core = core or build_core(settings)
    if source_for is None:
        from ragchat.adapters.aws.s3_source import S3Source

        source_for = S3Source
    core.store.ensure_embedding_space(core.embedder.model_id, core.embedder.dimension)
    return IngestFunction(core.pipeline, source_for)


def build_websocket_function(settings: Settings, *, core: Core | None = None, generator: Generator | None = None,
                             sessions: SessionStore | None = None, connections: ConnectionStore | None = None,
                             sink_for: Callable[[str], ConnectionSink] | None = None,
                             answer_later: Callable[[dict], None] | None = None,
                             once=None, quotas: Quotas | None = None) -> WebSocketFunction:
    """The chat function: one ChatEndpoint per Management API endpoint (the sink needs its URL)."""
    from ragchat.aws_lambda.chat import WebSocketFunction
    from ragchat.chat.endpoint import ConnectionLifecycle

    if not settings.sessions_table and (sessions is None or once is None):
        raise ConfigurationError("RAGCHAT_SESSIONS_TABLE is required for the chat function")
    in_flight = None  # injected connections: answers in flight are tracked in this process
    if quotas is None and connections is None:
        if not settings.quotas_table:
            raise ConfigurationError("RAGCHAT_QUOTAS_TABLE is required for the chat function")
        from ragchat.adapters.aws.dynamodb_quotas import DynamoDbQuotas

        quotas = DynamoDbQuotas(settings.quotas_table)
    quota = build_quota_policy(settings, quotas) if quotas is not None else None  # None: tests' own parts
    if connections is None:
        from ragchat.adapters.aws.dynamodb_connections import DynamoDbAnswersInFlight, DynamoDbConnectionStore

        if not settings.connections_table:
            raise ConfigurationError("RAGCHAT_CONNECTIONS_TABLE is required for the chat function")
        connections = DynamoDbConnectionStore(settings.connections_table)
        # each frame is answered by its own invocation: one answer per connection needs a shared lease
        in_flight = DynamoDbAnswersInFlight(settings.connections_table)
    if sink_for is None:
        from ragchat.adapters.aws.apigw_sink import ApiGatewayConnectionSink

        sink_for = ApiGatewayConnectionSink
    if answer_later is None:
        from ragchat.adapters.aws.lambda_invoker import AsyncInvoker

        if not settings.function_name:
            raise ConfigurationError("AWS_LAMBDA_FUNCTION_NAME (or RAGCHAT_FUNCTION_NAME) names the chat function")
        invoker = _once(lambda: AsyncInvoker(settings.function_name))

        def answer_later(event: dict) -> None:
            invoker()(event)
    if once is None:
        from ragchat.adapters.aws.clients import dynamodb
        from ragchat.aws_lambda.chat import AnswerOnce

        answer_once = _once(lambda: AnswerOnce(settings.sessions_table, client=dynamodb()))

        def once(key: str, work: Callable[[], None]) -> None:
            answer_once()(key, work)
    # the chat (store, models, tools) loads on the first frame to answer, not on $connect
    parts = _once(lambda: _chat_parts(settings, core, generator, sessions))
    endpoints: dict[str, ChatEndpoint] = {}

    def endpoint_for(url: str) -> ChatEndpoint:
        if url not in endpoints:
            chat, chat_sessions = parts()
            endpoints[url] = build_endpoint(chat, chat_sessions, connections, sink_for(url), in_flight, quota)
        return endpoints[url]

    return WebSocketFunction(ConnectionLifecycle(connections), endpoint_for, answer_later, once)


def _chat_parts(settings: Settings, core: Core | None, generator: Generator | None,
                sessions: SessionStore | None) -> tuple[ChatService, SessionStore]:
    sessions = sessions or build_sessions(settings)
    return build_chat(core or build_core(settings), generator=generator, sessions=sessions), sessions


def build_api_function(settings: Settings, *, core: Core | None = None, sessions: SessionStore | None = None,
                       files: DocumentFiles | None = None):
    """The HTTP API function: the FastAPI app (no page, no WebSocket) behind Mangum."""
    from mangum import Mangum

    from ragchat.aws_lambda.api import jwt_claims_identity
    from ragchat.documents import DocumentService
    from ragchat.server.app import HttpContext, create_app

    # the API lists, uploads and removes documents: it needs the store, never the embedder
    store = core.store if core is not None else build_store(settings, embedder=None)
    if files is None:
        from ragchat.adapters.aws.s3_files import S3DocumentFiles

        if not settings.documents_bucket:
            raise ConfigurationError("RAGCHAT_DOCUMENTS_BUCKET is required for the HTTP API function")
        files = S3DocumentFiles(store, settings.documents_bucket)
    app = create_app(HttpContext(
        store=store, sessions=sessions or build_sessions(settings),
        documents=DocumentService(store, files, manage_shared=False), identity=jwt_claims_identity,
        max_upload_bytes=settings.max_file_bytes, serve_page=False))
    return Mangum(app, lifespan="off")


def build_authorizer(settings: Settings, *, jwks=None) -> Authorizer:
    from ragchat.aws_lambda.authorizer import Authorizer, TokenVerifier

    if not settings.user_pool_client_id:
        raise ConfigurationError("RAGCHAT_USER_POOL_CLIENT_ID is required for the authorizer")
    return Authorizer(TokenVerifier(settings.issuer, settings.user_pool_client_id, jwks), visitor_origins(settings))


def once(build: Callable[[], object]) -> Callable[[], object]:
    """`build()` on the first call, the same object after: a Lambda container builds its parts on
    its first event, not at import (so importing a handler stays cheap)."""
    built: list = []

    def get():
        if not built:
            built.append(build())
        return built[0]

    return get


_once = once  # for the builders whose `once` parameter hides this function
