"""ragchat and LangChain, both ways (`pip install "ragchat[langchain]"`).

- `RagchatRetriever`: a LangChain retriever over a ragchat knowledge base (hybrid search, filters,
  user scope), returning Documents with ragchat's provenance in their metadata.
- `LangChainGenerator`: any LangChain chat model (ChatBedrockConverse from langchain-aws, or any
  other) behind ragchat's Generator port, streaming and with tool calls, selected with
  RAGCHAT_GENERATOR=langchain.

Importing this package imports langchain_core (0.7-0.9 s on a 2-core machine, most of it
langsmith's schemas): no Lambda function imports it.
"""

from ragchat.errors import ConfigurationError

try:
    import langchain_core  # noqa: F401
except ImportError as exc:
    raise ConfigurationError(
        'the LangChain integration needs its extra: pip install "ragchat[langchain]"') from exc

from ragchat.integrations.langchain.generator import LangChainGenerator
from ragchat.integrations.langchain.models import chat_model_from_settings, generator_from_settings
from ragchat.integrations.langchain.retriever import RagchatRetriever, document_of

__all__ = ["LangChainGenerator", "RagchatRetriever", "chat_model_from_settings", "document_of",
           "generator_from_settings"]
