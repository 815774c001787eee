"""The ingest pipeline: list, read, parse, chunk, embed, write; and remove what vanished.

Unchanged files (same bytes, same pipeline) cost one hash and write nothing. Chunks of many
small files are embedded together in batches, so the model always sees full batches.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Protocol

from ragchat.domain import Chunk, DocStatus, DocumentRecord, IngestReport, SourceObject, stable_id
from ragchat.errors import DocumentRejected
from ragchat.ingest import parsers
from ragchat.ingest.parsers.limits import ParseBudget
from ragchat.ordering import supersedes
from ragchat.ports import Chunker, ChunkStore, DocumentEmbedder, DocumentSource

log = logging.getLogger(__name__)

BATCH_CHUNKS = 256  # chunks embedded together: full batches for the model, bounded memory
PARSER_VERSION = "parsers-v4"  # bump when parsing changes what a file yields: everything re-ingests


class Progress(Protocol):
    """Told how many files a run will look at, then of each file's outcome
    ("added", "updated", "unchanged", "skipped", "failed", "superseded" or "removed")."""

    def started(self, total: int) -> None: ...

    def advanced(self, obj: SourceObject | None, outcome: str) -> None: ...


@dataclass
class _Pending:
    obj: SourceObject
    record: DocumentRecord
    chunks: list[Chunk]
    replaced_chunks: int  # chunks of the previous version, gone once this one is written


class IngestPipeline:
    def __init__(self, store: ChunkStore, embedder: DocumentEmbedder, chunker: Chunker, max_file_bytes: int,
                 *, parse_seconds: float, batch_chunks: int = BATCH_CHUNKS):
        """`parse_seconds`: the time budget of parsing one file; past it the file is skipped."""
        self.store = store
        self.parse_seconds = parse_seconds
        self.embedder = embedder
        self.chunker = chunker
        self.max_file_bytes = max_file_bytes
        self.batch_chunks = batch_chunks
        self.pipeline_version = stable_id(PARSER_VERSION, chunker.version, embedder.model_id, length=12)
        self._space_checked = False

    def _check_space(self) -> None:
        if not self._space_checked:
            self.store.ensure_embedding_space(self.embedder.model_id, self.embedder.dimension)
            self._space_checked = True

    # -- public API --------------------------------------------------------------------------
    def sync(self, source: DocumentSource, progress: Progress | None = None) -> IngestReport:
        """Make the store mirror the source: add new files, replace changed ones, remove vanished ones."""
        started = time.perf_counter()
        objects = list(source.list())
        if progress:
            progress.started(len(objects))
        report = self.ingest(source, objects, progress)
        present = {obj.doc_id for obj in objects}
        for record in self.store.list_documents(uri_prefix=source.root_uri):
            if record.doc_id not in present:
                report.chunks_deleted += self.store.delete_document(record.doc_id)
                report.removed += 1
                if progress:
                    progress.advanced(None, "removed")
        report.seconds = time.perf_counter() - started
        return report

    def ingest(self, source: DocumentSource, objects: Iterable[SourceObject],
               progress: Progress | None = None) -> IngestReport:
        """Ingest the given objects (new or changed); never removes anything."""
        started = time.perf_counter()
        self._check_space()
        report = IngestReport()
        pending: list[_Pending] = []
        pending_chunks = 0
        for obj in objects:
            report.seen += 1
            item = self._prepare(source, obj, report, progress)
            if item is None:
                continue
            pending.append(item)
            pending_chunks += len(item.chunks)
            if pending_chunks >= self.batch_chunks:
                self._flush(pending, report, progress)
                pending, pending_chunks = [], 0
        self._flush(pending, report, progress)
        report.seconds = time.perf_counter() - started
        return report

    def remove(self, uri: str, order: str = "") -> int:
        """Remove one document (an S3 delete, a file gone from the watched folder). With an order,
        a write older than the delete is refused afterwards."""
        return self.store.delete_document(stable_id(uri), order)

    # -- steps -------------------------------------------------------------------------------
    def _record_outcome(self, obj: SourceObject, reason: str, status: DocStatus, report: IngestReport,
                        progress: Progress | None, content_hash: str = "") -> bool:
        """Record a rejection or failure; False when a newer write of the file already stands (then
        this one no longer matters and is counted as superseded)."""
        recorded = self.store.record_status(DocumentRecord(
            doc_id=obj.doc_id, uri=obj.uri, path=obj.key, title=obj.title or obj.key, doc_type=obj.extension,
            content_hash=content_hash, pipeline_version=self.pipeline_version, size=obj.size,
            status=status, reason=reason, order=obj.order,
        ))
        if not recorded:
            report.superseded += 1
        if progress:
            progress.advanced(obj, status if recorded else "superseded")
        return recorded

    def _reject(self, obj: SourceObject, reason: str, report: IngestReport, progress: Progress | None,
                content_hash: str) -> None:
        """No retry will help: recorded as skipped with its reason, remembered by content hash."""
        if self._record_outcome(obj, reason, "skipped", report, progress, content_hash):
            report.rejected.append((obj.key, reason))

    def _fail(self, obj: SourceObject, reason: str, report: IngestReport, progress: Progress | None) -> None:
        """A retry may help: recorded as failed, with no content hash so the next run tries again."""
        log.warning("ingest of %s failed: %s", obj.key, reason)
        if self._record_outcome(obj, reason, "failed", report, progress):
            report.failed.append((obj.key, reason))

    def _prepare(self, source: DocumentSource, obj: SourceObject, report: IngestReport,
                 progress: Progress | None) -> _Pending | None:
        if obj.size > self.max_file_bytes:
            self._reject(obj, f"file is {obj.size / 1e6:.1f} MB, over the {self.max_file_bytes / 1e6:.0f} MB limit",
                         report, progress, content_hash="")
            return None
        try:
            data = source.read(obj)
        except Exception as exc:  # gone, throttled, a network error: the next event or sync retries
            self._fail(obj, f"could not read the file ({type(exc).__name__}: {exc})", report, progress)
            return None
        content_hash = hashlib.sha256(data).hexdigest()
        existing = self.store.get_document(obj.doc_id)
        if self._already_done(existing, content_hash, obj, report, progress):
            return None
        try:
            parsed = parsers.parse(data, obj, ParseBudget(self.parse_seconds))
            chunks = self.chunker.split(parsed, obj, content_hash)
        except DocumentRejected as exc:
            self._reject(obj, str(exc), report, progress, content_hash)
            return None
        except Exception as exc:  # the chunker giving up on these bytes gives up on them again
            log.info("parsing %s failed", obj.key, exc_info=True)
            self._reject(obj, f"could not parse the file ({type(exc).__name__}: {str(exc)[:300]})", report,
                         progress, content_hash)
            return None
        record = DocumentRecord(
            doc_id=obj.doc_id, uri=obj.uri, path=obj.key, title=parsed.title, doc_type=parsed.doc_type,
            content_hash=content_hash, pipeline_version=self.pipeline_version, size=obj.size,
            status="indexed", chunk_count=len(chunks), updated_at=time.time(), order=obj.order,
            generation=uuid.uuid4().hex,  # this write's own: the store sweeps every other one
            url=parsed.url,
        )
        return _Pending(obj, record, chunks, replaced_chunks=existing.chunk_count if existing else 0)

    def _already_done(self, existing: DocumentRecord | None, content_hash: str, obj: SourceObject,
                      report: IngestReport, progress: Progress | None) -> bool:
        """Nothing to do for bytes this pipeline has seen: the indexed version, or a known rejection."""
        if (existing is None or existing.content_hash != content_hash
                or existing.pipeline_version != self.pipeline_version):
            return False
        if existing.chunk_count > 0:  # these bytes are the indexed version (restored after a bad one, maybe)
            if existing.status != "indexed" or (obj.order and supersedes(obj.order, existing.order)):
                self.store.record_status(replace(existing, status="indexed", reason="", order=obj.order))
            self.store.sweep(obj.doc_id)  # what an interrupted or concurrent write of these bytes left
            report.unchanged += 1
            if progress:
                progress.advanced(obj, "unchanged")
            return True
        if existing.status == "skipped":  # the same rejected bytes: the same verdict, without parsing again
            self._reject(obj, existing.reason, report, progress, content_hash)
            return True
        return False

    def _flush(self, pending: list[_Pending], report: IngestReport, progress: Progress | None) -> None:
        if not pending:
            return
        texts = [chunk.embedding_text for item in pending for chunk in item.chunks]
        try:
            vectors = self.embedder.embed_documents(texts)
            batch, offset = [], 0
            for item in pending:
                batch.append((item.record, item.chunks, vectors[offset:offset + len(item.chunks)]))
                offset += len(item.chunks)
            superseded = set(self.store.replace_documents(batch))
        except Exception as exc:  # throttling, an outage, a store error: every file of the batch is retried
            for item in pending:
                self._fail(item.obj, f"could not embed or store ({type(exc).__name__}: {exc})", report, progress)
            return
        for item in pending:
            if item.record.doc_id in superseded:  # a newer write of the file landed first: this one is void
                report.superseded += 1
                if progress:
                    progress.advanced(item.obj, "superseded")
                continue
            report.chunks_written += len(item.chunks)
            report.chunks_deleted += item.replaced_chunks
            outcome = "updated" if item.replaced_chunks else "added"
            setattr(report, outcome, getattr(report, outcome) + 1)
            if progress:
                progress.advanced(item.obj, outcome)
