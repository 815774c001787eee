"""Every setting, read from the environment in one place, each with its one default.

Nothing else in ragchat reads the environment: the composition root (bootstrap.py) hands each
part the values it needs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

from ragchat.errors import ConfigurationError

PREFIX = "RAGCHAT_"
# Settings that AWS itself sets in a Lambda function, read where no RAGCHAT_ variable is given.
AWS_FALLBACKS = {
    "aws_region": ("AWS_REGION", "AWS_DEFAULT_REGION"),
    "function_name": ("AWS_LAMBDA_FUNCTION_NAME",),
}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path(".ragchat")
    backend: str = "local"  # which adapter set bootstrap builds: local | aws
    # -- ingest --
    chunk_tokens: int = 200  # ~250 WordPiece tokens: inside MiniLM's 256-token window
    chunk_overlap: int = 30
    max_file_mb: float = 50.0  # larger files are skipped, and larger uploads refused
    max_parse_seconds: float = 30.0  # parsing one file past this is given up: the file is skipped
    embed_batch_size: int = 32
    # -- retrieval --
    retrieval_candidates: int = 100  # depth of each arm before fusion
    fusion: str = "convex"  # convex: scores normalised per arm and combined (docs/retrieval.md); rrf: by rank
    fusion_dense_weight: float = 0.8  # convex: the vector arm's weight (the keyword arm has the rest)
    rrf_k: int = 60  # rrf: the constant of reciprocal rank fusion
    reranker: str = ""  # empty: off; bedrock: Bedrock's Rerank API; http: a Cohere-style /v1/rerank endpoint
    rerank_model: str = ""  # bedrock: amazon.rerank-v1:0 unless set; http: the model name the endpoint knows
    rerank_url: str = ""  # http: the endpoint's base URL (e.g. http://127.0.0.1:8080)
    rerank_api_key: str = ""  # http: sent as a Bearer token when set
    rerank_candidates: int = 20  # the top fused hits the reranker orders
    rerank_budget_ms: int = 1500  # past this the fused order stands (also on any reranker failure)
    # -- chat --
    generator: str = "extractive"  # extractive | openai | bedrock | langchain
    openai_base_url: str = "http://127.0.0.1:11434/v1"  # Ollama's; vLLM and llama.cpp's server work too
    openai_model: str = "llama3.1"
    openai_api_key: str = ""
    bedrock_model_id: str = "us.anthropic.claude-haiku-4-5-20251001-v1:0"  # template.yaml's ChatModelId
    # RAGCHAT_GENERATOR=langchain: "module:attribute" of a LangChain chat model class or factory, and the
    # JSON object of keyword arguments it is called with (ragchat/integrations/langchain/models.py)
    langchain_model: str = "langchain_aws:ChatBedrockConverse"
    langchain_model_kwargs: str = ""
    chat_sources: int = 6  # sources retrieved per answer
    min_similarity: float = 0.25  # cosine below which the best chunk is taken as not about the question
    history_tokens: int = 1500  # history sent to a language model
    history_messages: int = 20  # messages read back for condensing and history
    max_answer_tokens: int = 800
    tools: str = "auto"  # auto: the tool loop runs with models that support tools; off: never
    tool_max_steps: int = 5  # model calls per answer that may use tools (one more then answers)
    tool_max_tokens: int = 40000  # input + output tokens per answer, over all its model calls
    tool_max_seconds: float = 60.0  # wall time per answer with tools
    tool_max_calls_per_step: int = 5  # tool calls one model reply may ask for; more are refused
    # -- the local server --
    local_token: str = ""  # when set, the local server requires it (Bearer header; ?token= on the WebSocket)
    allowed_hosts: str = ""  # Host names the local server answers besides loopback and its bind address
    page_endpoints: str = ""  # origins the page may connect to besides its server (a deployed API)
    # -- visitors (no account) and what anyone may spend (ragchat/chat/quota.py) --
    public_chat: bool = False  # visitors may chat, from the allowed origins only (`ragchat serve --public`)
    allowed_origins: str = ""  # the sites that embed the widget: origins such as https://example.com, comma-separated
    visitor_messages_per_minute: int = 5  # each visitor
    visitor_messages_per_day: int = 50
    address_messages_per_minute: int = 20  # each source address, whichever visitors send from it
    address_messages_per_day: int = 300
    visitor_input_chars_per_day: int = 20_000  # characters of questions per visitor
    visitor_tokens_per_day: int = 100_000  # model tokens (input + output) of a visitor's answers
    user_input_chars_per_day: int = 400_000  # the same for each signed-in user
    user_tokens_per_day: int = 2_000_000
    daily_token_budget: int = 1_000_000  # the deployment's: past it visitors come back tomorrow, users go on
    # -- the AWS adapter set (RAGCHAT_BACKEND=aws) --
    aws_region: str = ""  # else AWS_REGION / AWS_DEFAULT_REGION; empty: boto3's own resolution
    function_name: str = ""  # else AWS_LAMBDA_FUNCTION_NAME: the chat function invokes itself by it
    opensearch_endpoint: str = ""  # https://<id>.<region>.aoss.amazonaws.com
    index_prefix: str = "ragchat"
    documents_table: str = ""  # DynamoDB: document records (status, write order, chunk generation)
    sweep_queue_url: str = ""  # SQS: where the ingest function asks itself for delayed sweeps
    sweep_after_seconds: float = 900.0  # longer than any ingest may take; SQS delays at most 900 s
    bedrock_embedding_model: str = "amazon.titan-embed-text-v2:0"
    embedding_dimension: int = 1024
    embedding_concurrency: int = 4  # parallel Titan calls per function instance
    documents_bucket: str = ""
    sessions_table: str = ""
    connections_table: str = ""
    quotas_table: str = ""  # DynamoDB: the quota counters
    user_pool_id: str = ""  # Cognito: the authorizer checks tokens against this pool ...
    user_pool_client_id: str = ""  # ... issued to this app client
    token_issuer: str = ""  # the issuer tokens must name; empty: the user pool's own

    @property
    def store_path(self) -> Path:
        return self.data_dir / "ragchat.db"

    @property
    def sessions_path(self) -> Path:
        return self.data_dir / "sessions.db"

    @property
    def quotas_path(self) -> Path:
        return self.data_dir / "quotas.db"

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def issuer(self) -> str:
        """Who must have signed a user's token: the Cognito user pool (or RAGCHAT_TOKEN_ISSUER)."""
        if self.token_issuer:
            return self.token_issuer.rstrip("/")
        if not (self.aws_region and self.user_pool_id):
            raise ConfigurationError("the authorizer needs RAGCHAT_USER_POOL_ID and a region (AWS_REGION)")
        return f"https://cognito-idp.{self.aws_region}.amazonaws.com/{self.user_pool_id}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> Settings:
        """Settings from RAGCHAT_* variables; keyword overrides (e.g. from CLI flags) win when not None."""
        environ = os.environ if environ is None else environ
        defaults = cls()
        values: dict = {}
        for field in fields(cls):
            name = PREFIX + field.name.upper()
            raw = environ.get(name) or next(
                (environ[n] for n in AWS_FALLBACKS.get(field.name, ()) if environ.get(n)), None)
            if raw:
                values[field.name] = _parse(name, raw, type(getattr(defaults, field.name)))
        chosen = {k: (Path(v).expanduser() if k == "data_dir" else v) for k, v in overrides.items() if v is not None}
        return replace(cls(**values), **chosen)


def _parse(name: str, raw: str, kind: type):
    try:
        if kind is Path:
            return Path(raw).expanduser()
        if kind is bool:
            if raw.lower() not in _TRUE | _FALSE:
                raise ValueError(raw)
            return raw.lower() in _TRUE
        return kind(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name}={raw!r} is not a valid {kind.__name__}") from exc
