"""One key of a source brought up to date: the store follows the object's current state.

Object events can arrive twice, late or out of order, so an event is only a hint that a key
changed. Whatever the event said, the object as it is now decides: an object that exists is
ingested (a redelivery finds it unchanged and writes nothing), one that is gone is removed.
"""

from __future__ import annotations

import logging

from ragchat.domain import IngestReport
from ragchat.errors import IngestFailed
from ragchat.ingest.pipeline import IngestPipeline
from ragchat.ports import DocumentSource

log = logging.getLogger(__name__)


def reconcile(pipeline: IngestPipeline, source: DocumentSource, key: str) -> IngestReport:
    """Make the store follow the object under `key`. A file no retry can help is recorded as
    skipped and returns normally; a failure a retry may fix raises IngestFailed."""
    obj = source.stat(key)
    if obj is None:
        removed = pipeline.remove(source.uri_for(key))
        log.info("removed %s (%d chunks)", key, removed)
        return IngestReport(seen=1, removed=1 if removed else 0, chunks_deleted=removed)
    report = pipeline.ingest(source, [obj])
    if report.failed:
        raise IngestFailed("; ".join(f"{path}: {reason}" for path, reason in report.failed))
    for path, reason in report.rejected:
        log.warning("skipped %s: %s", path, reason)
    return report
