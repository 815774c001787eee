"""The FastAPI app: the chat page, the WebSocket endpoint, and a REST API for documents and sessions.

The same app is meant to run behind Mangum on AWS (the HTTP API); locally uvicorn serves it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Request, UploadFile, WebSocket
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from ragchat.chat.routes import ChatRoutes
from ragchat.errors import RagchatError, SessionNotFound
from ragchat.ingest.parsers import SUPPORTED_EXTENSIONS
from ragchat.ports import ChunkStore, SessionStore
from ragchat.server.websocket import LocalConnectionSink, serve_socket

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")
# The page loads only its own scripts; it may talk to a deployed API elsewhere (configurable URLs).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss: http: https:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


@dataclass
class AppContext:
    store: ChunkStore
    sessions: SessionStore
    routes: ChatRoutes
    sink: LocalConnectionSink
    drop_folder: Path | None  # uploads land here and are ingested like any dropped file
    ingest_file: object  # callable(Path) -> IngestReport, for uploads
    local_user: str = "local"
    token: str | None = None  # when set, every request must carry it


def create_app(context: AppContext) -> FastAPI:
    app = FastAPI(title="ragchat", version="0.1.0", docs_url="/api/docs", openapi_url="/api/openapi.json")

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    def user(request: Request) -> str:
        if context.token:
            header = request.headers.get("authorization", "")
            supplied = header.removeprefix("Bearer ").strip() or request.query_params.get("token", "")
            if supplied != context.token:
                raise HTTPException(status_code=401, detail="missing or wrong token")
        return context.local_user

    @app.exception_handler(RagchatError)
    async def ragchat_error(_: Request, exc: RagchatError) -> JSONResponse:
        status = 404 if isinstance(exc, SessionNotFound) else 400
        return JSONResponse({"error": type(exc).__name__, "message": str(exc)}, status_code=status)

    @app.get("/api/health")
    def health() -> dict:
        return {"status": "ok", "chunks": context.store.count_chunks()}

    @app.get("/api/documents")
    def documents(_: str = Depends(user)) -> dict:
        return {"documents": [
            {"docId": d.doc_id, "path": d.path, "title": d.title, "type": d.doc_type, "status": d.status,
             "reason": d.reason, "chunks": d.chunk_count, "size": d.size, "updatedAt": d.updated_at, "uri": d.uri}
            for d in context.store.list_documents()
        ]}

    @app.get("/api/documents/{doc_id}")
    def document(doc_id: str, _: str = Depends(user)) -> dict:
        record = context.store.get_document(doc_id)
        if record is None:
            raise HTTPException(status_code=404, detail="no such document")
        chunks = context.store.get_chunks(doc_id)
        return {"docId": doc_id, "title": record.title, "path": record.path, "status": record.status,
                "chunks": [{"chunkId": c.chunk_id, "position": c.position, "headingPath": list(c.heading_path),
                            "page": c.page, "text": c.text} for c in chunks]}

    @app.delete("/api/documents/{doc_id}")
    def delete_document(doc_id: str, _: str = Depends(user)) -> dict:
        record = context.store.get_document(doc_id)
        if record is None:
            raise HTTPException(status_code=404, detail="no such document")
        if context.drop_folder and record.uri.startswith(context.drop_folder.resolve().as_uri() + "/"):
            (context.drop_folder / record.path).unlink(missing_ok=True)  # else the watcher would bring it back
        return {"deletedChunks": context.store.delete_document(doc_id)}

    @app.post("/api/documents", status_code=201)
    async def upload(file: UploadFile, _: str = Depends(user)) -> dict:
        if context.drop_folder is None:
            raise HTTPException(status_code=409, detail="uploads need a drop folder (ragchat serve --watch DIR)")
        name = _SAFE_NAME.sub("_", Path(file.filename or "").name).strip(" .")
        if not name or name.rsplit(".", 1)[-1].lower() not in SUPPORTED_EXTENSIONS:
            raise HTTPException(status_code=415, detail=f"unsupported file type; supported: {', '.join(sorted(SUPPORTED_EXTENSIONS))}")
        data = await file.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            raise HTTPException(status_code=413, detail="file over 50 MB")
        target = context.drop_folder / "uploads" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{name}.part")  # hidden: the watcher ignores it until it is whole
        partial.write_bytes(data)
        partial.replace(target)
        report = await run_in_threadpool(context.ingest_file, target)
        skipped = dict(report.skipped)
        return {"path": f"uploads/{name}", "status": "skipped" if skipped else "indexed",
                "reason": next(iter(skipped.values()), ""), "chunks": report.chunks_written}

    @app.get("/api/sessions")
    def sessions(user_id: str = Depends(user)) -> dict:
        return {"sessions": [s.as_dict() for s in context.sessions.list_sessions(user_id)]}

    @app.get("/api/sessions/{session_id}")
    def session(session_id: str, user_id: str = Depends(user)) -> dict:
        found = context.sessions.get_session(user_id, session_id)
        if found is None:
            raise HTTPException(status_code=404, detail="no such session")
        return {**found.as_dict(), "messages": [m.as_dict() for m in context.sessions.list_messages(user_id, session_id)]}

    @app.delete("/api/sessions/{session_id}")
    def delete_session(session_id: str, user_id: str = Depends(user)) -> dict:
        if not context.sessions.delete_session(user_id, session_id):
            raise HTTPException(status_code=404, detail="no such session")
        return {"deleted": session_id}

    @app.websocket("/ws")
    async def websocket(socket: WebSocket) -> None:
        if context.token and socket.query_params.get("token") != context.token:
            await socket.close(code=4401)
            return
        await serve_socket(socket, context.routes, context.sink, context.local_user)

    @app.get("/")
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
