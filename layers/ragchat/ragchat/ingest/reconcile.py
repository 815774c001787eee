"""One key of a source brought up to date with what happened to it.

Object events arrive at least once, late, and out of order; several workers may handle events of
the same key at once. Each event names a change and, where the source orders its writes (S3's
`sequencer`), its order (ragchat/ordering.py). The store applies a write only over an older one,
so whatever order the events are handled in, the newest write is what stays:

- created: the version the event names is ingested (an unversioned source: the current object);
- removed: the document is deleted, and the deletion remembered, so an older write that is still
  in flight is refused when it lands;
- version_removed: one version was deleted for good, so an older one may be current again: the
  key's current state is ingested, or the document deleted if none is left;
- current: anything else (an event without a change the store knows): follow the current state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Literal

from ragchat.domain import IngestReport, stable_id
from ragchat.errors import IngestFailed
from ragchat.ingest.pipeline import IngestPipeline
from ragchat.ordering import supersedes
from ragchat.ports import DocumentSource

log = logging.getLogger(__name__)

ChangeKind = Literal["created", "removed", "version_removed", "current"]


@dataclass(frozen=True)
class Change:
    key: str
    kind: ChangeKind = "current"
    order: str = ""  # ordering.order_of(the event's sequencer); "" when the event has none
    version: str | None = None  # the version a `created` event is about


def reconcile(pipeline: IngestPipeline, source: DocumentSource, change: Change) -> IngestReport:
    """Apply one change. A file no retry can help is recorded as skipped and returns normally;
    a failure a retry may fix raises IngestFailed."""
    doc_id = stable_id(source.uri_for(change.key))
    if change.order and not supersedes(change.order, pipeline.store.stored_order(doc_id)):
        pipeline.store.sweep(doc_id)  # a redelivery: finish what an interrupted attempt may have left
        return IngestReport(seen=1, superseded=1)
    if change.kind == "removed":
        return _removed(pipeline, source, change)
    if change.kind == "created" and change.version:
        obj = source.stat(change.key, change.version)
        if obj is None:  # that version is gone already; the event of its removal will follow
            return IngestReport(seen=1, superseded=1)
    else:
        obj = source.stat(change.key)
        if obj is None:
            return _removed(pipeline, source, change)
    report = pipeline.ingest(source, [replace(obj, order=change.order)])
    if report.failed:
        raise IngestFailed("; ".join(f"{path}: {reason}" for path, reason in report.failed))
    for path, reason in report.rejected:
        log.warning("skipped %s: %s", path, reason)
    return report


def _removed(pipeline: IngestPipeline, source: DocumentSource, change: Change) -> IngestReport:
    removed = pipeline.remove(source.uri_for(change.key), change.order)
    log.info("removed %s (%d chunks)", change.key, removed)
    return IngestReport(seen=1, removed=1 if removed else 0, chunks_deleted=removed)
