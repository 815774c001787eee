"""The FastAPI app: the chat page, the WebSocket endpoint, and a REST API for documents and sessions.

The same app is meant to run behind Mangum on AWS (the HTTP API); locally uvicorn serves it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Request, UploadFile, WebSocket
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from ragchat.access import is_visible, may_delete
from ragchat.chat.routes import ChatRoutes
from ragchat.domain import DocumentRecord
from ragchat.errors import RagchatError, SessionNotFound
from ragchat.ports import ChunkStore, SessionStore
from ragchat.server.documents import MAX_UPLOAD_BYTES
from ragchat.server.websocket import LocalConnectionSink, serve_socket

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
# The page loads only its own scripts; it may talk to a deployed API elsewhere (configurable URLs).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss: http: https:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
Identity = Callable[[Request], str]  # the user behind a request, or HTTPException(401)


def local_identity(token: str | None, user: str = "local") -> Identity:
    """The one local user; with a token configured, only requests that carry it."""

    def identify(request: Request) -> str:
        if token:
            supplied = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if (supplied or request.query_params.get("token", "")) != token:
                raise HTTPException(status_code=401, detail="missing or wrong token")
        return user

    return identify


def jwt_claims_identity(request: Request) -> str:
    """The `sub` claim that API Gateway's JWT authorizer verified (Mangum passes the event along)."""
    event = request.scope.get("aws.event") or {}
    claims = event.get("requestContext", {}).get("authorizer", {}).get("jwt", {}).get("claims", {})
    if not claims.get("sub"):
        raise HTTPException(status_code=401, detail="unauthenticated")
    return claims["sub"]


class UploadRequest(BaseModel):
    filename: str


@dataclass
class AppContext:
    store: ChunkStore
    sessions: SessionStore
    documents: object  # LocalDocuments or S3Documents (server/documents.py)
    identity: Identity
    routes: ChatRoutes | None = None  # the WebSocket endpoint; on AWS, API Gateway serves it instead
    sink: LocalConnectionSink | None = None
    serve_page: bool = True
    manage_shared: bool = True  # users may delete shared documents (the single local user); not on AWS


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
        return context.identity(request)

    @app.exception_handler(RagchatError)
    async def ragchat_error(_: Request, exc: RagchatError) -> JSONResponse:
        status = getattr(exc, "status", 404 if isinstance(exc, SessionNotFound) else 400)
        return JSONResponse({"error": type(exc).__name__, "detail": str(exc)}, status_code=status)

    @app.get("/api/health")
    def health() -> dict:
        return {"status": "ok", "chunks": context.store.count_chunks()}

    def visible_document(doc_id: str, user_id: str) -> DocumentRecord:
        record = context.store.get_document(doc_id)
        if record is None or not is_visible(record.path, user_id):  # another user's upload: "no such"
            raise HTTPException(status_code=404, detail="no such document")
        return record

    @app.get("/api/documents")
    def documents(user_id: str = Depends(user)) -> dict:
        return {"documents": [
            {"docId": d.doc_id, "path": d.path, "title": d.title, "type": d.doc_type, "status": d.status,
             "reason": d.reason, "chunks": d.chunk_count, "size": d.size, "updatedAt": d.updated_at, "uri": d.uri}
            for d in context.store.list_documents() if is_visible(d.path, user_id)
        ]}

    @app.get("/api/documents/{doc_id}")
    def document(doc_id: str, user_id: str = Depends(user)) -> dict:
        record = visible_document(doc_id, user_id)
        chunks = context.store.get_chunks(doc_id)
        return {"docId": doc_id, "title": record.title, "path": record.path, "status": record.status,
                "chunks": [{"chunkId": c.chunk_id, "position": c.position, "headingPath": list(c.heading_path),
                            "page": c.page, "text": c.text} for c in chunks]}

    @app.delete("/api/documents/{doc_id}")
    def delete_document(doc_id: str, user_id: str = Depends(user)) -> dict:
        record = visible_document(doc_id, user_id)
        if not may_delete(record.path, user_id, context.manage_shared):
            raise HTTPException(status_code=403, detail="shared documents are managed in the bucket")
        return {"deletedChunks": context.documents.delete(record)}

    @app.post("/api/documents", status_code=201)
    async def upload(file: UploadFile, user_id: str = Depends(user)) -> dict:
        data = await file.read(MAX_UPLOAD_BYTES + 1)
        return await run_in_threadpool(context.documents.upload, file.filename or "", data, user_id)

    @app.post("/api/uploads", status_code=201)
    def presigned_upload(request: UploadRequest, user_id: str = Depends(user)) -> dict:
        return context.documents.presign(request.filename, user_id)

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

    if context.routes is not None and context.sink is not None:
        @app.websocket("/ws")
        async def websocket(socket: WebSocket) -> None:
            try:
                user_id = context.identity(socket)  # a WebSocket carries headers and query like a request
            except HTTPException:
                await socket.close(code=4401)
                return
            await serve_socket(socket, context.routes, context.sink, user_id)

    if context.serve_page:
        @app.get("/")
        def index() -> FileResponse:
            return FileResponse(STATIC / "index.html")

        app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
