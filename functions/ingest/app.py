"""Ingest function: S3 object events (through SQS, or raw from `sam local invoke`) -> the core pipeline."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from ragchat.adapters.aws.s3_source import S3Source
from ragchat.bootstrap import build
from ragchat.config import Settings
from ragchat.ingest.events import apply_change, changes_in, s3_event_of_sqs_body

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="ragchat")
processor = BatchProcessor(event_type=EventType.SQS)
_services = None


def services():
    """Built once per container, on first use (so importing this module stays cheap)."""
    global _services
    if _services is None:
        _services = build(Settings.from_env(backend="aws"))
        _services.store.ensure_embedding_space(_services.embedder.model_id, _services.embedder.dimension)
    return _services


@tracer.capture_method
def apply_s3_event(event: dict) -> None:
    built = services()
    for change in changes_in(event):
        report = apply_change(change, built.pipeline, S3Source(change.bucket))
        metrics.add_metric(name="ChunksWritten", unit=MetricUnit.Count, value=report.chunks_written)
        metrics.add_metric(name="FilesSkipped", unit=MetricUnit.Count, value=report.failed)
        logger.info("applied", extra={"key": change.key, "event": change.event_name, "added": report.added,
                                      "updated": report.updated, "unchanged": report.unchanged,
                                      "removed": report.removed, "skipped": report.skipped})


def record_handler(record: SQSRecord) -> None:
    apply_s3_event(s3_event_of_sqs_body(record.body))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context) -> dict:
    records = event.get("Records") or []
    if records and records[0].get("eventSource") == "aws:s3":  # a raw S3 notification
        apply_s3_event(event)
        return {"batchItemFailures": []}
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
