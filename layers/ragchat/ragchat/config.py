"""Every setting, read from the environment in one place, with local defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

from ragchat.errors import ConfigurationError

PREFIX = "RAGCHAT_"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path(".ragchat")
    backend: str = "local"  # which adapter set bootstrap builds
    chunk_tokens: int = 200  # ~250 WordPiece tokens: inside MiniLM's 256-token window
    chunk_overlap: int = 30
    max_file_mb: float = 50.0
    embed_batch_size: int = 32
    retrieval_candidates: int = 100  # depth of each arm before fusion
    rrf_k: int = 60
    generator: str = "extractive"  # extractive | openai | bedrock
    openai_base_url: str = "http://127.0.0.1:11434/v1"  # Ollama's; vLLM and llama.cpp's server work too
    openai_model: str = "llama3.1"
    openai_api_key: str = ""
    bedrock_model_id: str = "anthropic.claude-3-5-haiku-20241022-v1:0"
    aws_region: str = ""  # empty: boto3's own resolution (AWS_REGION, profile)
    chat_sources: int = 6  # sources retrieved per answer
    min_similarity: float = 0.25  # cosine below which the best chunk is taken as not about the question
    history_tokens: int = 1500  # history sent to a language model
    max_answer_tokens: int = 800
    tools: str = "auto"  # auto: the tool loop runs with models that support tools; off: never
    tool_max_steps: int = 5  # model calls per answer that may use tools (one more then answers)
    tool_max_tokens: int = 40000  # input + output tokens per answer, over all its model calls
    tool_max_seconds: float = 60.0  # wall time per answer with tools
    local_token: str = ""  # when set, the local server requires it (Bearer header or ?token=)
    # -- the AWS adapter set (RAGCHAT_BACKEND=aws) --
    opensearch_endpoint: str = ""  # https://<id>.<region>.aoss.amazonaws.com
    index_prefix: str = "ragchat"
    bedrock_embedding_model: str = "amazon.titan-embed-text-v2:0"
    embedding_dimension: int = 1024
    embedding_concurrency: int = 4  # parallel Titan calls per function instance
    documents_bucket: str = ""
    sessions_table: str = ""
    connections_table: str = ""
    user_pool_id: str = ""  # Cognito: the authorizer checks tokens against this pool ...
    user_pool_client_id: str = ""  # ... issued to this app client

    @property
    def store_path(self) -> Path:
        return self.data_dir / "ragchat.db"

    @property
    def sessions_path(self) -> Path:
        return self.data_dir / "sessions.db"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> Settings:
        """Settings from RAGCHAT_* variables; keyword overrides (e.g. from CLI flags) win when not None."""
        environ = os.environ if environ is None else environ
        values: dict = {}
        for field in fields(cls):
            raw = environ.get(PREFIX + field.name.upper())
            if raw is None or raw == "":
                continue
            kind = type(getattr(cls(), field.name))
            try:
                values[field.name] = Path(raw).expanduser() if kind is Path else kind(raw)
            except ValueError as exc:
                raise ConfigurationError(f"{PREFIX}{field.name.upper()}={raw!r} is not a valid {kind.__name__}") from exc
        settings = cls(**values)
        chosen = {k: (Path(v).expanduser() if k == "data_dir" else v) for k, v in overrides.items() if v is not None}
        return replace(settings, **chosen)
