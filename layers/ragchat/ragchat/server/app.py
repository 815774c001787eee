"""The FastAPI app: the chat page, the WebSocket endpoint, and a REST API for documents and sessions.

The same app runs behind Mangum as the HTTP API function on AWS; locally uvicorn serves it.
Every typed error becomes its status code here, in one table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import Depends, FastAPI, Request, UploadFile, WebSocket
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import HTTPConnection

from ragchat.documents import DocumentService
from ragchat.errors import (
    DocumentNotFound,
    InvalidQuery,
    NotAllowed,
    RagchatError,
    SessionNotFound,
    Unauthenticated,
    UnsupportedUpload,
    UploadNotAccepted,
    UploadTooLarge,
)
from ragchat.ports import ChunkStore, SessionStore
from ragchat.server.body_limit import MULTIPART_OVERHEAD, BodyLimit, BodyTooLarge, too_large_response
from ragchat.server.origin import SameOriginOnly
from ragchat.server.policy import SecurityHeaders, content_security_policy
from ragchat.server.websocket import LocalWebSocket, serve_socket

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
# The most specific class listed first wins (an UploadTooLarge is also an UploadRefused).
ERROR_STATUS: tuple[tuple[type[RagchatError], int], ...] = (
    (Unauthenticated, 401), (NotAllowed, 403), (DocumentNotFound, 404), (SessionNotFound, 404),
    (UploadNotAccepted, 409), (UploadTooLarge, 413), (UnsupportedUpload, 415), (InvalidQuery, 400),
)
Identity = Callable[[HTTPConnection], str]  # the user behind a request or socket; raises Unauthenticated


def status_of(error: RagchatError) -> int:
    return next((status for kind, status in ERROR_STATUS if isinstance(error, kind)), 400)


class UploadRequest(BaseModel):
    filename: str


@dataclass
class HttpContext:
    store: ChunkStore
    sessions: SessionStore
    documents: DocumentService
    identity: Identity
    max_upload_bytes: int
    chat: LocalWebSocket | None = None  # the WebSocket endpoint; on AWS, API Gateway serves it instead
    serve_page: bool = True
    served_hosts: tuple[str, ...] = ()  # the Host names answered (the local server); empty: any (API Gateway)
    same_origin_only: bool = False  # refuse WebSockets and state changes from other sites' pages
    page_endpoints: tuple[str, ...] = ()  # what the page may connect to besides its own server
    socket_identity: Identity | None = None  # who is behind a WebSocket (visitors too); default: `identity`
    chat_origins: frozenset[str] = frozenset()  # sites whose pages may open the WebSocket (visitors)
    serve_widget: bool = True  # GET /widget.js, the embeddable chat, open to any site


def _document_dict(d) -> dict:
    return {"docId": d.doc_id, "path": d.path, "title": d.title, "type": d.doc_type, "status": d.status,
            "reason": d.reason, "chunks": d.chunk_count, "size": d.size, "updatedAt": d.updated_at, "uri": d.uri}


def create_app(context: HttpContext) -> FastAPI:
    app = FastAPI(title="ragchat", version="0.1.0", docs_url="/api/docs", openapi_url="/api/openapi.json")

    @app.exception_handler(RagchatError)
    async def ragchat_error(_: Request, exc: RagchatError) -> JSONResponse:
        return JSONResponse({"error": type(exc).__name__, "detail": str(exc)}, status_code=status_of(exc))

    @app.exception_handler(BodyTooLarge)
    async def body_too_large(_: Request, exc: BodyTooLarge) -> JSONResponse:
        return too_large_response(exc)

    def user(request: Request) -> str:
        return context.identity(request)

    @app.get("/api/health")
    def health() -> dict:
        return {"status": "ok"}  # open and cheap: it touches no store

    @app.get("/api/config")
    def config(user_id: str = Depends(user)) -> dict:
        """What the page needs to know of this deployment: how uploads are made."""
        return {"uploads": context.documents.upload_method, "user": user_id}

    @app.get("/api/documents")
    def documents(user_id: str = Depends(user)) -> dict:
        return {"documents": [_document_dict(d) for d in context.documents.visible(user_id)]}

    @app.get("/api/documents/{doc_id}")
    def document(doc_id: str, user_id: str = Depends(user)) -> dict:
        record, chunks = context.documents.chunks(doc_id, user_id)
        return {"docId": doc_id, "title": record.title, "path": record.path, "status": record.status,
                "chunks": [{"chunkId": c.chunk_id, "position": c.position, "headingPath": list(c.heading_path),
                            "page": c.page, "text": c.text} for c in chunks]}

    @app.delete("/api/documents/{doc_id}")
    def delete_document(doc_id: str, user_id: str = Depends(user)) -> dict:
        return {"deletedChunks": context.documents.delete(doc_id, user_id)}

    @app.post("/api/documents", status_code=201)
    async def upload(file: UploadFile, user_id: str = Depends(user)) -> dict:
        data = await file.read(context.max_upload_bytes + 1)
        outcome = await run_in_threadpool(context.documents.upload, file.filename or "", data, user_id)
        return outcome.as_dict()

    @app.post("/api/uploads", status_code=201)
    def presigned_upload(request: UploadRequest, user_id: str = Depends(user)) -> dict:
        return context.documents.presign(request.filename, user_id).as_dict()

    @app.get("/api/sessions")
    def sessions(user_id: str = Depends(user)) -> dict:
        return {"sessions": [s.as_dict() for s in context.sessions.list_sessions(user_id)]}

    @app.get("/api/sessions/{session_id}")
    def session(session_id: str, user_id: str = Depends(user)) -> dict:
        found = context.sessions.get_session(user_id, session_id)
        if found is None:
            raise SessionNotFound(f"no session {session_id}")
        messages = context.sessions.list_messages(user_id, session_id)
        return {**found.as_dict(), "messages": [m.as_dict() for m in messages]}

    @app.delete("/api/sessions/{session_id}")
    def delete_session(session_id: str, user_id: str = Depends(user)) -> dict:
        if not context.sessions.delete_session(user_id, session_id):
            raise SessionNotFound(f"no session {session_id}")
        return {"deleted": session_id}

    if context.chat is not None:
        @app.websocket("/ws")
        async def websocket(socket: WebSocket) -> None:
            try:  # a WebSocket carries headers and query like a request
                user_id = (context.socket_identity or context.identity)(socket)
            except Unauthenticated:
                await socket.close(code=4401)
                return
            await serve_socket(socket, context.chat, user_id)

    if context.serve_widget:
        @app.get("/widget.js")
        def widget() -> FileResponse:
            # any site may load it (a script tag needs no CORS); five minutes in caches between releases
            return FileResponse(STATIC / "widget.js", media_type="text/javascript; charset=utf-8",
                                headers={"Cache-Control": "public, max-age=300"})

    if context.serve_page:
        @app.get("/")
        def index() -> FileResponse:
            return FileResponse(STATIC / "index.html")

        app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodyLimit, max_bytes=context.max_upload_bytes + MULTIPART_OVERHEAD)
    app.add_middleware(SecurityHeaders, policy=content_security_policy(context.page_endpoints))
    if context.same_origin_only:
        app.add_middleware(SameOriginOnly, chat_origins=context.chat_origins)
    if context.served_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(context.served_hosts), www_redirect=False)
    return app
