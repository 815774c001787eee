"""The local stand-in for API Gateway's WebSocket API: each open socket is a connection of the same
ChatEndpoint the chat Lambda serves, and frames go back to the socket (as post_to_connection would)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from ragchat.chat.endpoint import ChatEndpoint
from ragchat.errors import ClientGone

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


@dataclass
class LocalWebSocket:
    """The chat endpoint and the sink that reaches its sockets."""

    endpoint: ChatEndpoint
    sockets: LocalConnectionSink


async def serve_socket(socket: WebSocket, chat: LocalWebSocket, user_id: str) -> None:
    connection_id = uuid.uuid4().hex
    await run_in_threadpool(chat.endpoint.connect, connection_id, user_id)
    await socket.accept()
    chat.sockets.attach(connection_id, socket)
    tasks: set[asyncio.Task] = set()
    try:
        while True:
            message = await socket.receive()
            if message["type"] == "websocket.disconnect":
                break
            body = message.get("text")
            if body is None:
                body = (message.get("bytes") or b"").decode("utf-8", errors="replace")
            task = asyncio.create_task(run_in_threadpool(chat.endpoint.receive, connection_id, body))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    except WebSocketDisconnect:
        pass
    finally:
        chat.sockets.detach(connection_id)
        await run_in_threadpool(chat.endpoint.disconnect, connection_id)
        if socket.client_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(RuntimeError):
                await socket.close()
        # answers in flight finish on their own: they store what was said and stop posting
