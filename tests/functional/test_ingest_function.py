"""The ingest function fed S3 notifications: the events in events/ (the files `sam local invoke`
uses) and the records real S3 would send for changes made through moto (tests/support/s3_events.py
adds the sequencer and version ids moto leaves out). S3 and the document records' DynamoDB table
under moto; FAKES of the OpenSearch data plane and Bedrock Titan (moto emulates neither)."""

import boto3
import pytest

from ragchat.adapters.aws.s3_source import S3Source
from ragchat.adapters.aws.sqs_sweeps import SWEEP_KEY
from ragchat.bootstrap import build_core, build_ingest_function
from ragchat.config import Settings
from tests.fakes import FakeTitanRuntime, titan_embedder
from tests.support.aws import opensearch_store
from tests.support.lambdas import LambdaContext, load_event, load_function
from tests.support.s3_events import S3Changes

BUCKET = "ragchat-docs-dev-123456789012-eu-west-1"  # what the sample events name
KEY = "runbooks/Incident response.md"
RUNBOOK = b"# Incident response\n\nPage the on-call engineer, then open an incident channel.\n"


@pytest.fixture
def s3(aws, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "ragchat-ingest")
    return boto3.client("s3", region_name="eu-west-1")


@pytest.fixture
def bucket(s3) -> S3Changes:
    return S3Changes(s3, BUCKET)


@pytest.fixture
def store(aws):
    return opensearch_store()


def handler_over(store, s3, runtime=None):
    """The function's handler, its IngestFunction built over the FAKE store and Titan runtime."""
    core = build_core(Settings(backend="aws"), store=store, embedder=titan_embedder(runtime))
    function = build_ingest_function(Settings(backend="aws"), core=core,
                                     source_for=lambda name: S3Source(name, client=s3))
    return load_function("ingest").make_handler(lambda: function)


def texts(store) -> list[str]:
    return sorted(c.text for d in store.list_documents() for c in store.get_chunks(d.doc_id))


def test_ingest_function_sample_put_event_ingests_the_current_object_once(bucket, s3, store):
    bucket.put(KEY, RUNBOOK)
    handler = handler_over(store, s3)
    assert handler(load_event("s3-put.json"), LambdaContext()) == {"batchItemFailures": []}
    assert [d.path for d in store.list_documents()] == [KEY]
    handler(load_event("s3-put.json"), LambdaContext())  # the same event delivered again
    assert store.count_chunks() == 1
    assert store.keyword_search("on-call engineer", k=3)[0].chunk.title == "Incident response"


def test_ingest_function_sample_sqs_batch_ingests_every_object_and_ignores_the_test_event(bucket, s3, store):
    bucket.put(KEY, RUNBOOK)
    bucket.put("reports/q3-summary.txt", b"Q3 revenue grew by twelve percent.")
    assert handler_over(store, s3)(load_event("sqs-s3-batch.json"), LambdaContext()) == {"batchItemFailures": []}
    assert {d.path for d in store.list_documents()} == {KEY, "reports/q3-summary.txt"}


def test_ingest_function_delete_marker_event_removes_the_document(bucket, s3, store):
    handler = handler_over(store, s3)
    handler(bucket.event(bucket.put(KEY, RUNBOOK)), LambdaContext())
    handler(bucket.event(bucket.delete(KEY)), LambdaContext())
    assert store.list_documents() == [] and store.count_chunks() == 0


def test_ingest_function_a_put_event_arriving_after_the_delete_does_not_resurrect(bucket, s3, store):
    handler = handler_over(store, s3)
    put, removed = bucket.put(KEY, RUNBOOK), bucket.delete(KEY)
    handler(bucket.event(removed), LambdaContext())
    handler(bucket.event(put), LambdaContext())  # late: the version it names still exists, but is older
    assert store.list_documents() == [] and store.count_chunks() == 0


def test_ingest_function_versions_handled_out_of_order_leave_the_newest(bucket, s3, store):
    titan = FakeTitanRuntime()
    handler = handler_over(store, s3, titan)
    first = bucket.put(KEY, b"# Runbook\n\nThe first version says restart the pods.\n")
    second = bucket.put(KEY, b"# Runbook\n\nThe second version says drain the node.\n")
    handler(bucket.event(second), LambdaContext())
    embedded = len(titan.bodies)
    handler(bucket.event(first), LambdaContext())  # older, handled last: refused before any embedding
    handler(bucket.event(second), LambdaContext())  # redelivered: nothing to do
    assert texts(store) == ["The second version says drain the node."]
    assert len(titan.bodies) == embedded


def test_ingest_function_deleting_the_current_version_brings_back_the_previous(bucket, s3, store):
    handler = handler_over(store, s3)
    handler(bucket.event(bucket.put(KEY, b"# Runbook\n\nThe old advice.\n")), LambdaContext())
    newer = bucket.put(KEY, b"# Runbook\n\nThe new advice.\n")
    handler(bucket.event(newer), LambdaContext())
    version = newer["s3"]["object"]["versionId"]
    handler(bucket.event(bucket.delete_version(KEY, version)), LambdaContext())
    assert texts(store) == ["The old advice."]


def test_ingest_function_reports_only_the_record_whose_embedding_failed(bucket, s3, store):
    class Throttled(FakeTitanRuntime):
        def invoke_model(self, **kwargs):
            if "revenue" in kwargs["body"]:
                raise ConnectionError("throttled for good")
            return super().invoke_model(**kwargs)

    batch = bucket.sqs_batch(bucket.event(bucket.put(KEY, RUNBOOK)),
                             bucket.event(bucket.put("reports/q3.txt", b"Q3 revenue grew by twelve percent.")))
    result = handler_over(store, s3, Throttled())(batch, LambdaContext())
    assert result == {"batchItemFailures": [{"itemIdentifier": batch["Records"][1]["messageId"]}]}
    assert [d.path for d in store.list_documents() if d.status == "indexed"] == [KEY]


def test_ingest_function_unusable_file_is_recorded_not_retried(bucket, s3, store):
    result = handler_over(store, s3)(bucket.sqs_batch(bucket.event(bucket.put(KEY, b""))), LambdaContext())
    assert result == {"batchItemFailures": []}
    (record,) = store.list_documents()
    assert (record.status, record.reason) == ("skipped", "empty file")


def _docx_with_broken_xml() -> bytes:
    import io
    import zipfile

    from tests.documents import make_docx

    source, out = zipfile.ZipFile(io.BytesIO(make_docx([("Normal", "A paragraph.")]))), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, b"<w:document><w:body><w:p>" if item.filename == "word/document.xml" else data)
    return out.getvalue()


@pytest.mark.parametrize("key, data, error", [
    ("reports/deep.json", b"[" * 100_000 + b"]" * 100_000, "RecursionError"),
    ("reports/digits.json", b'{"n": ' + b"9" * 5_000 + b"}", "ValueError"),
    ("reports/deep.html", b"<div>" * 100_000 + b"text", ""),
    ("reports/broken.docx", None, ""),
])
def test_ingest_function_file_that_crashes_its_parser_is_recorded_not_retried(bucket, s3, store, key, data, error):
    """A parser that fails on these bytes fails on them every time: retrying only fills the DLQ."""
    put = bucket.put(key, data if data is not None else _docx_with_broken_xml())
    assert handler_over(store, s3)(bucket.sqs_batch(bucket.event(put)), LambdaContext()) == {"batchItemFailures": []}
    (record,) = store.list_documents()
    assert record.status in ("skipped", "indexed") and error in record.reason
    assert record.status == "skipped" or key.endswith(".html")  # deep HTML may parse; it must never be retried


def test_ingest_function_message_without_a_notification_is_dropped_not_retried(bucket, s3, store, event):
    bucket.put("reports/q3-summary.txt", b"Q3 revenue grew by twelve percent.")
    batch = event("sqs-s3-batch.json")
    batch["Records"][0]["body"] = "not a notification"
    batch["Records"][2]["body"] = '{"Records": [{"eventSource": "aws:s3", "s3": 42}]}'
    assert handler_over(store, s3)(batch, LambdaContext()) == {"batchItemFailures": []}
    assert [d.path for d in store.list_documents()] == ["reports/q3-summary.txt"]  # the good message applied


def test_ingest_function_sweep_message_removes_chunks_a_crashed_write_left(bucket, s3, store):
    from dataclasses import replace

    from tests.contract.chunk_store_contract import written

    handler = handler_over(store, s3)
    handler(bucket.event(bucket.put(KEY, RUNBOOK)), LambdaContext())
    (current,) = store.list_documents()
    crashed = replace(current, generation="crashed", order="0")  # indexed long ago, never committed
    store._index_chunks(crashed, *written(crashed, "left behind")[1:])
    assert handler(bucket.sqs_batch({SWEEP_KEY: {"docId": current.doc_id}}), LambdaContext()) == {
        "batchItemFailures": []}
    assert store.count_chunks() == 1
