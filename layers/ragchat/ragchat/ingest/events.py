"""S3 object events (raw, or wrapped in SQS messages) to ingest operations.

Events can arrive twice, late or out of order, so an event is only a hint that a key changed:
the handler looks at the object's current state and makes the store follow it. A created event
for an object deleted since removes it; a removed event for an object written again ingests it;
a redelivered event finds the content unchanged and writes nothing.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from urllib.parse import unquote_plus

from ragchat.domain import IngestReport
from ragchat.ingest.pipeline import IngestPipeline

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ObjectChange:
    bucket: str
    key: str
    event_name: str


def changes_in(s3_event: dict) -> list[ObjectChange]:
    """The object changes in an S3 notification (keys arrive URL-encoded, spaces as '+')."""
    if s3_event.get("Event") == "s3:TestEvent":
        return []
    return [
        ObjectChange(bucket=r["s3"]["bucket"]["name"], key=unquote_plus(r["s3"]["object"]["key"]),
                     event_name=r.get("eventName", ""))
        for r in s3_event.get("Records", [])
        if r.get("eventSource") == "aws:s3"
    ]


def s3_event_of_sqs_body(body: str) -> dict:
    event = json.loads(body)
    if "Message" in event and "Records" not in event:  # delivered through SNS
        event = json.loads(event["Message"])
    return event


def apply_change(change: ObjectChange, pipeline: IngestPipeline, source) -> IngestReport:
    """Make the store follow the object's current state; raise if a retry could help."""
    from botocore.exceptions import ClientError

    try:
        obj = source.head(change.key)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
            raise
        removed = pipeline.remove(source.object_for(change.key, 0).uri)
        log.info("removed %s (%d chunks)", change.key, removed)
        return IngestReport(seen=1, removed=1 if removed else 0, chunks_deleted=removed)
    report = pipeline.ingest(source, [obj])
    for path, reason in report.skipped:
        if reason.startswith(("could not embed or store", "could not read")):  # transient: let the queue retry
            raise RuntimeError(f"{path}: {reason}")
        log.warning("skipped %s: %s", path, reason)
    return report

