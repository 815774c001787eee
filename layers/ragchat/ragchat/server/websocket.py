"""The local stand-in for API Gateway's WebSocket API: turns socket events into the events API
Gateway sends to Lambda and runs the very same route handlers, posting frames back to the socket."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from ragchat.chat.routes import ChatRoutes
from ragchat.errors import ClientGone
import contextlib

log = logging.getLogger(__name__)
SEND_TIMEOUT_S = 10


class LocalConnectionSink:
    """ConnectionSink over open sockets; plays `post_to_connection` (GoneException -> ClientGone)."""

    def __init__(self):
        self._sockets: dict[str, tuple[WebSocket, asyncio.AbstractEventLoop]] = {}

    def attach(self, connection_id: str, socket: WebSocket) -> None:
        self._sockets[connection_id] = (socket, asyncio.get_running_loop())

    def detach(self, connection_id: str) -> None:
        self._sockets.pop(connection_id, None)

    def post(self, connection_id: str, data: str) -> None:
        entry = self._sockets.get(connection_id)
        if entry is None:
            raise ClientGone(connection_id)
        socket, loop = entry
        future = asyncio.run_coroutine_threadsafe(socket.send_text(data), loop)
        try:
            future.result(SEND_TIMEOUT_S)
        except Exception as exc:  # closed socket, reset connection, timeout: the client is gone
            self.detach(connection_id)
            raise ClientGone(connection_id) from exc


def _event(route_key: str, connection_id: str, body: str | None = None, user_id: str | None = None) -> dict:
    context = {
        "routeKey": route_key, "connectionId": connection_id, "stage": "local", "apiId": "local",
        "requestTimeEpoch": int(time.time() * 1000),
        "eventType": {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route_key, "MESSAGE"),
    }
    if user_id:
        context["authorizer"] = {"principalId": user_id}
    return {"requestContext": context, "body": body, "isBase64Encoded": False}


def route_key_of(body: str) -> str:
    """API Gateway's route selection expression `$request.body.action`, falling back to $default."""
    import json

    try:
        action = json.loads(body).get("action")
    except (ValueError, AttributeError):
        return "$default"
    return "sendMessage" if action == "sendMessage" else "$default"


async def serve_socket(socket: WebSocket, routes: ChatRoutes, sink: LocalConnectionSink, user_id: str | None) -> None:
    connection_id = uuid.uuid4().hex
    status = await run_in_threadpool(routes.handle, _event("$connect", connection_id, user_id=user_id))
    if status.get("statusCode") != 200:
        await socket.close(code=4401 if status.get("statusCode") == 401 else 1011)
        return
    await socket.accept()
    sink.attach(connection_id, socket)
    tasks: set[asyncio.Task] = set()
    try:
        while True:
            message = await socket.receive()
            if message["type"] == "websocket.disconnect":
                break
            body = message.get("text")
            if body is None:
                body = (message.get("bytes") or b"").decode("utf-8", errors="replace")
            task = asyncio.create_task(run_in_threadpool(
                routes.handle, _event(route_key_of(body), connection_id, body=body, user_id=user_id)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    except WebSocketDisconnect:
        pass
    finally:
        sink.detach(connection_id)
        await run_in_threadpool(routes.handle, _event("$disconnect", connection_id))
        if socket.client_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(RuntimeError):
                await socket.close()
        # answers in flight finish on their own: they store what was said and stop posting
