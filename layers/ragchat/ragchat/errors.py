"""One base error and narrow subclasses; entry points translate them into responses."""


class RagchatError(Exception):
    """Base class of every error ragchat raises on purpose."""


class ConfigurationError(RagchatError):
    """A setting is missing or has a value ragchat cannot use."""


class DocumentRejected(RagchatError):
    """A file cannot be ingested (unsupported, empty, corrupt or too large); the reason says why."""


class UnsupportedFormat(DocumentRejected):
    """No parser handles this file type."""


class EmptyDocument(DocumentRejected):
    """The file holds no text to index."""


class CorruptDocument(DocumentRejected):
    """The parser could not read the file."""


class DocumentTooLarge(DocumentRejected):
    """The file is over the configured size limit."""


class StoreError(RagchatError):
    """The chunk store failed or holds data it cannot use."""


class EmbeddingSpaceMismatch(StoreError):
    """The store was built with another embedding model or dimension than the one configured."""


class InvalidQuery(RagchatError):
    """A search request is malformed (empty query, bad k, bad filter)."""


class SessionNotFound(RagchatError):
    """No session with that id belongs to the asking user."""


class ProtocolError(RagchatError):
    """A client frame is malformed, too large, or asks for an unknown action."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class GenerationError(RagchatError):
    """The language model failed or could not be reached."""


class ClientGone(RagchatError):
    """The client of a stream disconnected; stop producing for it."""
