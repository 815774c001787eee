"""The ingest function's side of the bucket's events: S3 notifications arrive through SQS (or, with
`sam local invoke`, raw), wrapped in SNS or not; each object key named is reconciled with the
bucket (ragchat/ingest/reconcile.py). A record whose ingest may succeed on a retry is reported as
a batch item failure, so SQS redelivers it alone; everything else is done with."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from ragchat.ingest.pipeline import IngestPipeline
from ragchat.ingest.reconcile import reconcile
from ragchat.ports import DocumentSource

logger = Logger(child=True)
metrics = Metrics()  # Powertools shares one metric set: the handler's @log_metrics flushes these


def s3_event_of(record: SQSRecord) -> S3Event | None:
    """The S3 notification in an SQS message, delivered directly or through an SNS topic; None for a
    message that holds none (no retry can make one of it)."""
    try:
        body = record.json_body
        if isinstance(body, dict) and "Message" in body and "Records" not in body:
            body = json.loads(record.decoded_nested_sns_event.message)
    except (ValueError, TypeError, KeyError, RecursionError):
        return None
    return S3Event(body) if isinstance(body, dict) else None


def object_of(change) -> tuple[str, str] | None:
    """(bucket, key) of one S3 record, or None for a record that names no object."""
    try:
        if change.event_source != "aws:s3":
            return None
        bucket, key = change.s3.bucket.name, change.s3.get_object.key
    except (KeyError, TypeError, AttributeError):
        return None
    if not (isinstance(bucket, str) and isinstance(key, str) and bucket and key):
        return None
    return bucket, unquote_plus(key)  # keys arrive URL-encoded, spaces as '+'


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
        event = s3_event_of(record)
        if event is None:
            logger.warning("message holds no S3 notification; dropped", extra={"messageId": record.message_id})
            metrics.add_metric(name="MessagesDropped", unit=MetricUnit.Count, value=1)
            return
        self.apply(event)

    def apply(self, event: S3Event) -> None:
        """Reconcile every object the notification names; raise IngestFailed if a retry may help.
        The s3:TestEvent S3 sends when notifications are configured names no object."""
        records = event.get("Records")
        for change in (event.records if isinstance(records, list) and records else ()):
            named = object_of(change)
            if named is None:
                continue
            bucket, key = named
            report = reconcile(self.pipeline, self.source_for(bucket), key)
            metrics.add_metric(name="ChunksWritten", unit=MetricUnit.Count, value=report.chunks_written)
            metrics.add_metric(name="FilesSkipped", unit=MetricUnit.Count, value=len(report.rejected))
            logger.info("applied", extra={"key": key, "event": change.event_name, "added": report.added,
                                          "updated": report.updated, "unchanged": report.unchanged,
                                          "removed": report.removed, "skipped": report.rejected})
