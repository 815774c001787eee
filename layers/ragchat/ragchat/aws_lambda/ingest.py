"""The ingest function's side of the bucket's events: S3 notifications arrive through SQS (or, with
`sam local invoke`, raw), wrapped in SNS or not; each change they name is applied in its order
(ragchat/ingest/reconcile.py). The queue also carries the delayed sweeps the store asks for
(adapters/aws/sqs_sweeps.py). A record whose work may succeed on a retry is reported as a batch
item failure, so SQS redelivers it alone; everything else is done with."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from ragchat.adapters.aws.sqs_sweeps import sweep_request
from ragchat.ingest.pipeline import IngestPipeline
from ragchat.ingest.reconcile import Change, reconcile
from ragchat.ordering import order_of
from ragchat.ports import DocumentSource

logger = Logger(child=True)
metrics = Metrics(namespace="ragchat")  # Powertools shares one metric set: the handler's @log_metrics flushes these


def s3_event_of(body: dict, record: SQSRecord) -> S3Event | None:
    """The S3 notification in an SQS message, delivered directly or through an SNS topic; None for
    an SNS envelope that holds no JSON object (no retry can make one of it)."""
    if "Message" in body and "Records" not in body:
        try:
            body = json.loads(record.decoded_nested_sns_event.message)
        except (ValueError, TypeError, KeyError, RecursionError):
            return None
    return S3Event(body) if isinstance(body, dict) else None


def change_of(record) -> Change:
    """What one S3 event record says happened to its key, and where it stands among the key's writes."""
    obj = record.s3.get_object
    key = unquote_plus(obj.key)  # keys arrive URL-encoded, spaces as '+'
    order = order_of(obj.get("sequencer"))
    name = record.event_name
    if name.startswith("ObjectCreated:"):
        return Change(key, "created", order, obj.version_id)
    if name == "ObjectRemoved:DeleteMarkerCreated" or (name.startswith("ObjectRemoved:") and not obj.version_id):
        return Change(key, "removed", order)
    if name.startswith("ObjectRemoved:"):  # one version deleted for good: an older one may be current again
        return Change(key, "version_removed", order)
    return Change(key, "current", order)


def named_change(record) -> tuple[str, Change] | None:
    """The bucket and the change one S3 record names, or None for a record that names no object
    (not from S3, or missing or malformed fields)."""
    try:
        if record.event_source != "aws:s3":
            return None
        bucket, change = record.s3.bucket.name, change_of(record)
    except (KeyError, TypeError, AttributeError, ValueError):
        return None
    return (bucket, change) if isinstance(bucket, str) and bucket and change.key else None


class IngestFunction:
    def __init__(self, pipeline: IngestPipeline, source_for: Callable[[str], DocumentSource]):
        self.pipeline = pipeline
        self.source_for = source_for  # bucket name -> a DocumentSource over it
        # a batch whose every record failed reports each of them, like any other failure, instead of
        # failing the invocation (the same retry, without an error and its alarm)
        self.processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    def handle(self, event: dict, context) -> dict:
        records = event.get("Records") or []
        if records and isinstance(records[0], dict) and records[0].get("eventSource") == "aws:s3":  # raw S3
            self.apply(S3Event(event))
            return {"batchItemFailures": []}
        return process_partial_response(event=event, record_handler=self.on_record, processor=self.processor,
                                        context=context)

    def on_record(self, record: SQSRecord) -> None:
        try:
            body = record.json_body
        except (ValueError, RecursionError):  # not JSON: nothing a retry could apply
            body = None
        if not isinstance(body, dict):
            self._drop(record, "ignored a queue message that is not a JSON object")
            return
        doc_id = sweep_request(body)
        if doc_id:
            self.pipeline.store.sweep(doc_id)
            return
        event = s3_event_of(body, record)
        if event is None:
            self._drop(record, "ignored a queue message that holds no S3 notification")
            return
        self.apply(event)

    @staticmethod
    def _drop(record: SQSRecord, reason: str) -> None:
        logger.warning(reason, extra={"id": record.message_id})
        metrics.add_metric(name="MessagesDropped", unit=MetricUnit.Count, value=1)

    def apply(self, event: S3Event) -> None:
        """Apply every change the notification names; raise IngestFailed if a retry may help.
        The s3:TestEvent S3 sends when notifications are configured names no object."""
        records = event.get("Records")
        for record in (event.records if isinstance(records, list) and records else ()):
            named = named_change(record)
            if named is None:
                continue
            bucket, change = named
            report = reconcile(self.pipeline, self.source_for(bucket), change)
            metrics.add_metric(name="ChunksWritten", unit=MetricUnit.Count, value=report.chunks_written)
            metrics.add_metric(name="FilesSkipped", unit=MetricUnit.Count, value=len(report.rejected))
            logger.info("applied", extra={"key": change.key, "event": record.event_name, "added": report.added,
                                          "updated": report.updated, "unchanged": report.unchanged,
                                          "removed": report.removed, "superseded": report.superseded,
                                          "skipped": report.rejected})
