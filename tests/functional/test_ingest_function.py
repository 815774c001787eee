"""The ingest function fed the events in events/ (the files `sam local invoke -e` uses), with S3 under
moto, and FAKES of the OpenSearch data plane and Bedrock Titan (moto emulates neither)."""

import json

import boto3
import pytest

from ragchat.adapters.aws.bedrock_embedder import BedrockTitanEmbedder
from ragchat.adapters.aws.opensearch_store import OpenSearchChunkStore
from ragchat.bootstrap import build
from ragchat.config import Settings
from tests.fake_opensearch import FakeOpenSearch
from tests.fakes import FakeTitanRuntime
from tests.functional.lambda_support import EVENTS, LambdaContext, load_function

BUCKET = "ragchat-documents-dev"


@pytest.fixture
def env(aws, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "ragchat-ingest")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "ragchat")
    s3 = boto3.client("s3", region_name="eu-west-1")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket=BUCKET, Key="runbooks/Incident response.md",
                  Body=b"# Incident response\n\nPage the on-call engineer, then open an incident channel.\n")
    s3.put_object(Bucket=BUCKET, Key="reports/q3-summary.txt", Body=b"Q3 revenue grew by twelve percent.")
    app = load_function("ingest")
    store = OpenSearchChunkStore(FakeOpenSearch(), prefix="test")
    app._services = build(Settings(backend="aws"), store=store, embedder=BedrockTitanEmbedder(client=FakeTitanRuntime()))
    store.ensure_embedding_space("amazon.titan-embed-text-v2:0", 1024)
    return app, s3, store


def event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def test_ingest_function_raw_s3_put_ingests_once(env):
    app, _, store = env
    assert app.handler(event("s3-put.json"), LambdaContext()) == {"batchItemFailures": []}
    assert [d.path for d in store.list_documents()] == ["runbooks/Incident response.md"]
    chunks = store.count_chunks()
    app.handler(event("s3-put.json"), LambdaContext())  # the same event delivered again
    assert store.count_chunks() == chunks == 1
    assert store.keyword_search("on-call engineer", k=3)[0].chunk.title == "Incident response"


def test_ingest_function_sqs_batch_ingests_every_object_and_ignores_test_events(env):
    app, _, store = env
    result = app.handler(event("sqs-s3-batch.json"), LambdaContext())
    assert result == {"batchItemFailures": []}
    assert {d.path for d in store.list_documents()} == {"runbooks/Incident response.md", "reports/q3-summary.txt"}


def test_ingest_function_delete_event_removes_the_document(env):
    app, s3, store = env
    app.handler(event("s3-put.json"), LambdaContext())
    s3.delete_object(Bucket=BUCKET, Key="runbooks/Incident response.md")
    app.handler(event("s3-delete.json"), LambdaContext())
    assert store.list_documents() == [] and store.count_chunks() == 0


def test_ingest_function_late_put_for_a_deleted_object_removes_instead(env):
    app, s3, store = env
    app.handler(event("s3-put.json"), LambdaContext())
    s3.delete_object(Bucket=BUCKET, Key="runbooks/Incident response.md")
    app.handler(event("s3-put.json"), LambdaContext())  # arrives after the delete: the object is gone
    assert store.count_chunks() == 0


def test_ingest_function_reports_only_the_failing_record(env):
    app, s3, store = env

    class Throttled(FakeTitanRuntime):
        def invoke_model(self, **kwargs):
            if "revenue" in kwargs["body"]:
                raise ConnectionError("throttled for good")
            return super().invoke_model(**kwargs)

    app._services = build(Settings(backend="aws"), store=store, embedder=BedrockTitanEmbedder(client=Throttled()))
    batch = event("sqs-s3-batch.json")
    result = app.handler(batch, LambdaContext())
    assert result == {"batchItemFailures": [{"itemIdentifier": batch["Records"][1]["messageId"]}]}
    assert [d.path for d in store.list_documents() if d.status == "indexed"] == ["runbooks/Incident response.md"]


def test_ingest_function_unsupported_file_is_recorded_not_retried(env):
    app, s3, store = env
    s3.put_object(Bucket=BUCKET, Key="runbooks/Incident response.md", Body=b"")
    assert app.handler(event("s3-put.json"), LambdaContext()) == {"batchItemFailures": []}
    assert store.get_document(store.list_documents()[0].doc_id).status == "skipped"
