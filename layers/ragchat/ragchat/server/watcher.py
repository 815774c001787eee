"""The drop folder watched: it plays the S3 trigger for the local server."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from ragchat.adapters.local.folder import FolderSource
from ragchat.domain import IngestReport
from ragchat.ingest.pipeline import IngestPipeline

log = logging.getLogger(__name__)


class FolderWatcher:
    """Any change under the folder syncs it (added, changed, removed files)."""

    def __init__(self, folder: Path, pipeline: IngestPipeline, debounce_ms: int = 400):
        self.folder = folder
        self.pipeline = pipeline
        self.debounce_ms = debounce_ms
        self.stop = threading.Event()
        self.lock = threading.Lock()  # one sync at a time (the watcher and uploads share it)
        self.thread = threading.Thread(target=self._run, name="ragchat-watcher", daemon=True)

    def sync(self) -> IngestReport:
        with self.lock:
            report = self.pipeline.sync(FolderSource(self.folder))
        if report.added or report.updated or report.removed or report.rejected or report.failed:
            log.info("drop folder synced: %d added, %d updated, %d removed, %d skipped, %d failed", report.added,
                     report.updated, report.removed, len(report.rejected), len(report.failed))
        return report

    def ingest_file(self, path: Path) -> IngestReport:
        with self.lock:
            source = FolderSource(self.folder, only=[path])
            return self.pipeline.ingest(source, source.list())

    def _run(self) -> None:
        from watchfiles import watch

        for _changes in watch(self.folder, stop_event=self.stop, debounce=self.debounce_ms, recursive=True,
                              raise_interrupt=False):
            try:
                self.sync()
            except Exception:
                log.exception("syncing the drop folder failed; will retry on the next change")

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.sync()
        self.thread.start()
