"""AWS-side stores built for tests: the OpenSearch adapter over the FAKE data plane, its document
records in DynamoDB under moto (the table made from template.yaml's own definition)."""

from __future__ import annotations

import boto3

from ragchat.adapters.aws.dynamodb_documents import DynamoDbDocumentRecords
from ragchat.adapters.aws.opensearch_store import OpenSearchChunkStore
from tests.fake_opensearch import FakeOpenSearch, FakeOpenSearchEngine
from tests.support.template import create_table


class FakeClock:
    """Time that moves only when a test moves it."""

    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def documents_table(name: str = "documents") -> DynamoDbDocumentRecords:
    """The DocumentsTable of template.yaml, created under moto (the `aws` fixture must be active)."""
    client = boto3.client("dynamodb", region_name="eu-west-1")
    existing = client.list_tables()["TableNames"]
    if name not in existing:
        create_table(client, "DocumentsTable", name)
    return DynamoDbDocumentRecords(name, client=client)


def opensearch_store(engine: FakeOpenSearchEngine | None = None, prefix: str = "test", table: str = "documents",
                     **options) -> OpenSearchChunkStore:
    """The real adapter over a FAKE collection (a fresh one with instant visibility by default)."""
    engine = engine or FakeOpenSearchEngine()
    options.setdefault("clock", engine.clock)
    options.setdefault("sleep", lambda seconds: None)
    return OpenSearchChunkStore(FakeOpenSearch(engine), documents_table(table), prefix, **options)


class AtomicRequests:
    """A DynamoDB client that hands moto one request at a time. DynamoDB applies each request, a
    conditional update included, atomically; moto evaluates the condition and applies the update
    in separate Python steps that a thread switch can split, so under concurrency it lets a
    conditional write through that DynamoDB would refuse. The requests of concurrent callers still
    interleave freely between one another, as they do against DynamoDB."""

    def __init__(self, client):
        import threading

        self._client = client
        self._lock = threading.Lock()
        self.exceptions = client.exceptions

    def __getattr__(self, name):
        method = getattr(self._client, name)

        def one_at_a_time(*args, **kwargs):
            with self._lock:
                return method(*args, **kwargs)

        return one_at_a_time
