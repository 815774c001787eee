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

from ragchat.chat import protocol
from ragchat.chat.endpoint import ChatEndpoint
from ragchat.errors import ClientGone

log = logging.getLogger(__name__)
SEND_TIMEOUT_S = 10
MAX_FRAMES_IN_FLIGHT = 8  # per connection; a frame past them gets a `busy` error frame at once


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


def _text_of(message: dict) -> str:
    body = message.get("text")
    return body if body is not None else (message.get("bytes") or b"").decode("utf-8", errors="replace")


def _busy_frame(body: str) -> str:
    request_id = protocol.request_id_of(body) if len(body) <= protocol.MAX_CLIENT_FRAME_BYTES else None
    return protocol.encode(protocol.error_frame(
        "busy", f"over {MAX_FRAMES_IN_FLIGHT} frames are waiting on this connection: wait for their answers",
        request_id))


async def serve_socket(socket: WebSocket, chat: LocalWebSocket, user_id: str) -> None:
    """One connection: each frame is handled on a worker thread, at most MAX_FRAMES_IN_FLIGHT at a
    time; when the client leaves, frames not yet started are dropped and a running answer stops at
    its next write (the sink raises ClientGone)."""
    connection_id = uuid.uuid4().hex
    address = socket.client.host if socket.client else None  # the peer, for per-address quotas
    await run_in_threadpool(chat.endpoint.connect, connection_id, user_id)
    await socket.accept()
    chat.sockets.attach(connection_id, socket)
    tasks: set[asyncio.Task] = set()
    try:
        while True:
            message = await socket.receive()
            if message["type"] == "websocket.disconnect":
                break
            body = _text_of(message)
            if len(tasks) >= MAX_FRAMES_IN_FLIGHT:
                try:
                    await socket.send_text(_busy_frame(body))
                except Exception:  # the client is gone mid-burst
                    break
                continue
            task = asyncio.create_task(run_in_threadpool(chat.endpoint.receive, connection_id, body, None, address))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    except WebSocketDisconnect:
        pass
    finally:
        chat.sockets.detach(connection_id)
        for task in tasks:
            task.cancel()  # not yet on a thread: never starts; on one: ends at its next write
        await run_in_threadpool(chat.endpoint.disconnect, connection_id)
        if socket.client_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(RuntimeError):
                await socket.close()
