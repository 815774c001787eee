"""`ragchat serve`: the local server, a watched drop folder, and the chat routes, in one process."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from ragchat.adapters.local.folder import FolderSource
from ragchat.bootstrap import Services, build_chat
from ragchat.chat.routes import ChatRoutes, InMemoryConnections
from ragchat.domain import IngestReport
from ragchat.server.app import AppContext, create_app, local_identity
from ragchat.server.documents import LocalDocuments
from ragchat.server.websocket import LocalConnectionSink

log = logging.getLogger(__name__)


class FolderWatcher:
    """Plays the S3 trigger: any change under the folder syncs it (added, changed, removed files)."""

    def __init__(self, folder: Path, services: Services, debounce_ms: int = 400):
        self.folder = folder
        self.services = services
        self.debounce_ms = debounce_ms
        self.stop = threading.Event()
        self.lock = threading.Lock()  # one sync at a time (the watcher and uploads share it)
        self.thread = threading.Thread(target=self._run, name="ragchat-watcher", daemon=True)

    def sync(self) -> IngestReport:
        with self.lock:
            report = self.services.pipeline.sync(FolderSource(self.folder))
        if report.added or report.updated or report.removed or report.skipped:
            log.info("drop folder synced: %d added, %d updated, %d removed, %d skipped", report.added,
                     report.updated, report.removed, report.failed)
        return report

    def ingest_file(self, path: Path) -> IngestReport:
        with self.lock:
            source = FolderSource(self.folder, only=[path])
            return self.services.pipeline.ingest(source, source.list())

    def _run(self) -> None:
        from watchfiles import watch

        for _changes in watch(self.folder, stop_event=self.stop, debounce=self.debounce_ms, recursive=True,
                              raise_interrupt=False):
            try:
                self.sync()
            except Exception:
                log.exception("syncing the drop folder failed; will retry on the next change")

    def start(self) -> None:
        self.sync()
        self.thread.start()


def build_app(services: Services, watch: Path | None, token: str = "", generator=None):
    sessions_chat = build_chat(services, generator=generator)
    sink = LocalConnectionSink()
    routes = ChatRoutes(sessions_chat, sessions_chat.sessions, InMemoryConnections(), sink)
    watcher = None
    if watch is not None:
        watch.mkdir(parents=True, exist_ok=True)
        watcher = FolderWatcher(watch, services)
    context = AppContext(
        store=services.store, sessions=sessions_chat.sessions, routes=routes, sink=sink,
        documents=LocalDocuments(services.store, watch, watcher.ingest_file if watcher else None),
        identity=local_identity(token or None),
    )
    return create_app(context), watcher


def serve(services: Services, host: str, port: int, watch: Path | None) -> None:
    import uvicorn

    app, watcher = build_app(services, watch, services.settings.local_token)
    services.embedder.embed_query("warm up")  # load the model before the first question, not during it
    if watcher:
        watcher.start()
    print(f"ragchat: chat on http://{host}:{port}  (WebSocket ws://{host}:{port}/ws)"
          + (f", watching {watch}" if watch else ""), flush=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", ws_max_size=4 * 1024 * 1024)
    finally:
        if watcher:
            watcher.stop.set()
