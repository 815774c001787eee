"""The ingest function fed the events in events/ (the files `sam local invoke -e` uses), with S3 under
moto, and FAKES of the OpenSearch data plane and Bedrock Titan (moto emulates neither)."""

import boto3
import pytest

from ragchat.adapters.aws.opensearch_store import OpenSearchChunkStore
from ragchat.adapters.aws.s3_source import S3Source
from ragchat.bootstrap import build_core, build_ingest_function
from ragchat.config import Settings
from tests.fake_opensearch import FakeOpenSearch
from tests.fakes import FakeTitanRuntime, titan_embedder
from tests.support.lambdas import LambdaContext, load_function

BUCKET = "ragchat-documents-dev"
KEY = "runbooks/Incident response.md"


@pytest.fixture
def s3(aws, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "ragchat-ingest")
    client = boto3.client("s3", region_name="eu-west-1")
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    client.put_object(Bucket=BUCKET, Key=KEY,
                      Body=b"# Incident response\n\nPage the on-call engineer, then open an incident channel.\n")
    client.put_object(Bucket=BUCKET, Key="reports/q3-summary.txt", Body=b"Q3 revenue grew by twelve percent.")
    return client


@pytest.fixture
def store():
    return OpenSearchChunkStore(FakeOpenSearch(), prefix="test")


def handler_over(store, s3, runtime=None):
    """The function's handler, its IngestFunction built over the FAKE store and Titan runtime."""
    core = build_core(Settings(backend="aws"), store=store, embedder=titan_embedder(runtime))
    function = build_ingest_function(Settings(backend="aws"), core=core,
                                     source_for=lambda bucket: S3Source(bucket, client=s3))
    return load_function("ingest").make_handler(lambda: function)


def test_ingest_function_raw_s3_put_ingests_once(s3, store, event):
    handler = handler_over(store, s3)
    assert handler(event("s3-put.json"), LambdaContext()) == {"batchItemFailures": []}
    assert [d.path for d in store.list_documents()] == [KEY]
    chunks = store.count_chunks()
    handler(event("s3-put.json"), LambdaContext())  # the same event delivered again
    assert store.count_chunks() == chunks == 1
    assert store.keyword_search("on-call engineer", k=3)[0].chunk.title == "Incident response"


def test_ingest_function_sqs_batch_ingests_every_object_and_ignores_test_events(s3, store, event):
    result = handler_over(store, s3)(event("sqs-s3-batch.json"), LambdaContext())
    assert result == {"batchItemFailures": []}
    assert {d.path for d in store.list_documents()} == {KEY, "reports/q3-summary.txt"}


def test_ingest_function_delete_event_removes_the_document(s3, store, event):
    handler = handler_over(store, s3)
    handler(event("s3-put.json"), LambdaContext())
    s3.delete_object(Bucket=BUCKET, Key=KEY)
    handler(event("s3-delete.json"), LambdaContext())
    assert store.list_documents() == [] and store.count_chunks() == 0


def test_ingest_function_late_put_for_a_deleted_object_removes_instead(s3, store, event):
    handler = handler_over(store, s3)
    handler(event("s3-put.json"), LambdaContext())
    s3.delete_object(Bucket=BUCKET, Key=KEY)
    handler(event("s3-put.json"), LambdaContext())  # arrives after the delete: the object is gone
    assert store.count_chunks() == 0


def test_ingest_function_reports_only_the_record_whose_embedding_failed(s3, store, event):
    class Throttled(FakeTitanRuntime):
        def invoke_model(self, **kwargs):
            if "revenue" in kwargs["body"]:
                raise ConnectionError("throttled for good")
            return super().invoke_model(**kwargs)

    batch = event("sqs-s3-batch.json")
    result = handler_over(store, s3, Throttled())(batch, LambdaContext())
    assert result == {"batchItemFailures": [{"itemIdentifier": batch["Records"][1]["messageId"]}]}
    assert [d.path for d in store.list_documents() if d.status == "indexed"] == [KEY]


def test_ingest_function_unusable_file_is_recorded_not_retried(s3, store, event):
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"")
    assert handler_over(store, s3)(event("s3-put.json"), LambdaContext()) == {"batchItemFailures": []}
    (record,) = store.list_documents()
    assert (record.status, record.reason) == ("skipped", "empty file")


def test_ingest_function_file_that_crashes_its_parser_is_recorded_not_retried(s3, store, event):
    s3.put_object(Bucket=BUCKET, Key="reports/q3-summary.txt", Body=b"[" * 100_000 + b"]" * 100_000)
    s3.copy_object(Bucket=BUCKET, Key="reports/deep.json",
                   CopySource={"Bucket": BUCKET, "Key": "reports/q3-summary.txt"})
    batch = event("sqs-s3-batch.json")
    batch["Records"][1]["body"] = batch["Records"][1]["body"].replace("reports/q3-summary.txt", "reports/deep.json")
    assert handler_over(store, s3)(batch, LambdaContext()) == {"batchItemFailures": []}
    record = next(d for d in store.list_documents() if d.path == "reports/deep.json")
    assert record.status == "skipped" and "RecursionError" in record.reason


def test_ingest_function_message_without_a_notification_is_dropped_not_retried(s3, store, event):
    batch = event("sqs-s3-batch.json")
    batch["Records"][0]["body"] = "not a notification"
    batch["Records"][2]["body"] = '{"Records": [{"eventSource": "aws:s3", "s3": 42}]}'
    assert handler_over(store, s3)(batch, LambdaContext()) == {"batchItemFailures": []}
    assert [d.path for d in store.list_documents()] == ["reports/q3-summary.txt"]  # the good message applied
