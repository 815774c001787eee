"""WebSocket route handlers fed API Gateway-shaped events: the same code on Lambda and locally.

The local server turns each socket event into the event API Gateway would send (routeKey,
connectionId, body, authorizer context) and calls `ChatRoutes.handle`; frames go back through a
ConnectionSink (post_to_connection on AWS, the open socket locally).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Protocol

from ragchat.chat import protocol
from ragchat.chat.service import ChatService
from ragchat.errors import ClientGone, GenerationError, InvalidQuery, ProtocolError, SessionNotFound
from ragchat.ports import SessionStore
import contextlib

log = logging.getLogger(__name__)

HISTORY_FRAME_BUDGET = 24 * 1024  # bytes of messages per history frame, below the 32 KB limit


class ConnectionSink(Protocol):
    def post(self, connection_id: str, data: str) -> None:
        """Deliver one frame; raise ClientGone if the connection is closed."""


class ConnectionStore(Protocol):
    """Which user a connection belongs to (recorded at $connect from the authorizer's context)."""

    def put(self, connection_id: str, user_id: str, connected_at: float) -> None: ...

    def user_of(self, connection_id: str) -> str | None: ...

    def delete(self, connection_id: str) -> None: ...


class InMemoryConnections:
    """ConnectionStore for one process (the local server)."""

    def __init__(self):
        self._users: dict[str, str] = {}

    def put(self, connection_id: str, user_id: str, connected_at: float) -> None:
        self._users[connection_id] = user_id

    def user_of(self, connection_id: str) -> str | None:
        return self._users.get(connection_id)

    def delete(self, connection_id: str) -> None:
        self._users.pop(connection_id, None)


def authorizer_user(event: dict) -> str | None:
    """The user id a REQUEST authorizer put in the context (principalId or a userId field)."""
    context = event.get("requestContext", {}).get("authorizer") or {}
    return context.get("userId") or context.get("principalId")


class ChatRoutes:
    def __init__(self, chat: ChatService, sessions: SessionStore, connections: ConnectionStore,
                 sink: ConnectionSink):
        self.chat = chat
        self.sessions = sessions
        self.connections = connections
        self.sink = sink

    def handle(self, event: dict) -> dict:
        context = event.get("requestContext", {})
        route, connection_id = context.get("routeKey"), context.get("connectionId")
        if not connection_id:
            return {"statusCode": 400, "body": "missing connectionId"}
        if route == "$connect":
            user_id = authorizer_user(event)
            if not user_id:
                return {"statusCode": 401, "body": "unauthenticated"}
            self.connections.put(connection_id, user_id, time.time())
            return {"statusCode": 200}
        if route == "$disconnect":
            self.connections.delete(connection_id)
            return {"statusCode": 200}
        user_id = self.connections.user_of(connection_id) or authorizer_user(event)
        if not user_id:
            self._send(connection_id, protocol.error_frame("unauthenticated", "connect again with a valid token"))
            return {"statusCode": 401}
        self.message(connection_id, user_id, event.get("body") or "")
        return {"statusCode": 200}

    def _send(self, connection_id: str, frame: dict) -> None:
        self.sink.post(connection_id, protocol.encode(frame))

    def message(self, connection_id: str, user_id: str, body: str) -> None:
        """Handle one client frame; every failure becomes an error frame, never a dropped connection."""
        request_id = protocol.request_id_of(body)
        try:
            frame = protocol.parse_client_frame(body)
            request_id = frame.request_id or request_id
            self._dispatch(connection_id, user_id, frame)
        except ClientGone:
            log.info("connection %s went away", connection_id)
        except ProtocolError as exc:
            self._safe_send(connection_id, protocol.error_frame(exc.code, str(exc), request_id))
        except SessionNotFound as exc:
            self._safe_send(connection_id, protocol.error_frame("session_not_found", str(exc), request_id))
        except InvalidQuery as exc:
            self._safe_send(connection_id, protocol.error_frame("bad_request", str(exc), request_id))
        except GenerationError as exc:
            log.warning("generation failed for request %s: %s", request_id, exc)
            self._safe_send(connection_id, protocol.error_frame("generation_failed", str(exc), request_id))
        except Exception:
            log.exception("request %s failed", request_id)
            self._safe_send(connection_id, protocol.error_frame(
                "internal_error", "something went wrong answering this message", request_id))

    def _safe_send(self, connection_id: str, frame: dict) -> None:
        with contextlib.suppress(ClientGone):
            self._send(connection_id, frame)

    def _dispatch(self, connection_id: str, user_id: str, frame: protocol.ClientFrame) -> None:
        send = lambda f: self._send(connection_id, f)  # noqa: E731
        if frame.action == "ping":
            send({"type": "pong", "requestId": frame.request_id})
        elif frame.action == "sendMessage":
            self.chat.answer(user_id, frame.message, send, session_id=frame.session_id, request_id=frame.request_id)
        elif frame.action == "listSessions":
            send({"type": "sessions", "requestId": frame.request_id,
                  "sessions": [s.as_dict() for s in self.sessions.list_sessions(user_id)]})
        elif frame.action == "deleteSession":
            if not self.sessions.delete_session(user_id, frame.session_id):
                raise SessionNotFound(f"no session {frame.session_id}")
            send({"type": "deleted", "requestId": frame.request_id, "sessionId": frame.session_id})
        elif frame.action == "getHistory":
            self._send_history(send, user_id, frame)

    def _send_history(self, send, user_id: str, frame: protocol.ClientFrame) -> None:
        """The session's messages, packed into as many frames as the frame limit needs."""
        messages = [m.as_dict() for m in self.sessions.list_messages(user_id, frame.session_id)]
        pages: list[list[dict]] = [[]]
        size = 0
        for message in messages:
            cost = len(json.dumps(message, ensure_ascii=False).encode("utf-8"))
            if cost > HISTORY_FRAME_BUDGET:  # one huge message: shorten its copy in the history frame
                message = {**message, "content": message["content"][: HISTORY_FRAME_BUDGET // 8], "truncated": True,
                           "citations": message["citations"][:5]}
                cost = len(json.dumps(message, ensure_ascii=False).encode("utf-8"))
            if pages[-1] and size + cost > HISTORY_FRAME_BUDGET:
                pages.append([])
                size = 0
            pages[-1].append(message)
            size += cost
        for index, page in enumerate(pages):
            send({"type": "history", "requestId": frame.request_id, "sessionId": frame.session_id,
                  "messages": page, "last": index == len(pages) - 1})
