"""One base error and narrow subclasses; entry points translate them into responses."""


class RagchatError(Exception):
    """Base class of every error ragchat raises on purpose."""


class ConfigurationError(RagchatError):
    """A setting is missing or has a value ragchat cannot use."""


# -- ingest ------------------------------------------------------------------------------------
class DocumentRejected(RagchatError):
    """A file cannot be ingested, now or on any retry (unsupported, empty, corrupt, too large)."""


class UnsupportedFormat(DocumentRejected):
    """No parser handles this file type."""


class EmptyDocument(DocumentRejected):
    """The file holds no text to index."""


class CorruptDocument(DocumentRejected):
    """The parser could not read the file."""


class DocumentTooLarge(DocumentRejected):
    """The file is over the configured size limit."""


class DocumentTooComplex(DocumentRejected):
    """Parsing the file would cost more than any document may: an archive that unpacks too large or
    holds too many elements, or parsing that ran past its time budget."""


class IngestFailed(RagchatError):
    """Reading, embedding or storing failed in a way a retry may fix (I/O, throttling, an outage)."""


# -- storage and search ------------------------------------------------------------------------
class StoreError(RagchatError):
    """The chunk store failed or holds data it cannot use."""


class EmbeddingSpaceMismatch(StoreError):
    """The store was built with another embedding model or dimension than the one configured."""


class InvalidQuery(RagchatError):
    """A search request is malformed (empty query, bad k, bad filter)."""


# -- documents entering through an API ---------------------------------------------------------
class UploadRefused(RagchatError):
    """An uploaded file cannot be accepted."""


class UnsupportedUpload(UploadRefused):
    """The file's name or type is not one ragchat can ingest."""


class UploadTooLarge(UploadRefused):
    """The file is over the upload size limit."""


class UploadNotAccepted(UploadRefused):
    """This deployment takes uploads another way (presigned URLs on AWS, direct posts locally)."""


class DocumentNotFound(RagchatError):
    """No document with that id is visible to the asking user."""


class NotAllowed(RagchatError):
    """The asking user may see the thing but not change it."""


# -- chat --------------------------------------------------------------------------------------
class Unauthenticated(RagchatError):
    """No verified user is behind the request or connection."""


class SessionNotFound(RagchatError):
    """No session with that id belongs to the asking user."""


class ProtocolError(RagchatError):
    """A client frame is malformed, too large, or asks for an unknown action."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class GenerationError(RagchatError):
    """The language model failed or could not be reached. The message is for logs (it may name an
    account, a role or an endpoint); `public` is what a client may be told."""

    def __init__(self, message: str, public: str = "the language model failed to answer"):
        super().__init__(message)
        self.public = public


class ClientGone(RagchatError):
    """The client of a stream disconnected; stop producing for it."""


class QuotaExceeded(RagchatError):
    """A limit on what an identity, an address or the whole deployment may spend is reached; the
    message is for the person asking, `retry_after` says in how many seconds the limit lifts."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after
