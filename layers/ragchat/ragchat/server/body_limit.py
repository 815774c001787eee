"""Request bodies refused as they stream past the limit, before anything spools them to disk.

Starlette's multipart parser writes an upload to a temporary file as it arrives, so a limit
checked after `UploadFile` was built lets the whole body through first. `BodyLimit` refuses a declared
Content-Length over the limit before any byte is read, and counts a body without one (chunked)
as it arrives: the request stops with 413 at the first byte past the limit.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the file itself


class BodyTooLarge(HTTPException):
    """Raised from `receive` (FastAPI passes an HTTPException from there through to its handler)."""

    def __init__(self, limit: int):
        super().__init__(status_code=413, detail=f"request body over {limit // (1024 * 1024)} MB")


def too_large_response(exc: BodyTooLarge) -> JSONResponse:
    return JSONResponse({"error": "UploadTooLarge", "detail": exc.detail}, status_code=413)


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await too_large_response(BodyTooLarge(self.max_bytes))(scope, receive, send)
            return
        received = 0

        async def counting() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, counting, send)
