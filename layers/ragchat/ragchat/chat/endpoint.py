"""The WebSocket protocol's server side, for any transport: the chat Lambda (API Gateway's routes)
and the local server (an open socket) both call `connect`, `receive` and `disconnect` here.

Frames go back through a ConnectionSink (post_to_connection on AWS, the socket locally). Every
failure of a client frame becomes an `error` frame; the connection stays open.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from typing import TYPE_CHECKING

from ragchat.chat import protocol
from ragchat.chat.in_flight import InProcessAnswers
from ragchat.errors import (
    ClientGone,
    GenerationError,
    InvalidQuery,
    ProtocolError,
    QuotaExceeded,
    SessionNotFound,
    Unauthenticated,
)
from ragchat.ports import AnswersInFlight, ConnectionSink, ConnectionStore, SessionStore

if TYPE_CHECKING:
    from ragchat.chat.quota import QuotaPolicy
    from ragchat.chat.service import ChatService

log = logging.getLogger(__name__)

HISTORY_FRAME_BUDGET = 24 * 1024  # bytes of messages per history frame, below the 32 KB limit


class ConnectionLifecycle:
    """Who is behind each connection: all that opening and closing one needs (no chat, no store)."""

    def __init__(self, connections: ConnectionStore):
        self.connections = connections

    def connect(self, connection_id: str, user_id: str | None) -> None:
        """Record who is behind a new connection (an identity the transport verified)."""
        if not user_id:
            raise Unauthenticated("a connection needs a verified user")
        self.connections.put(connection_id, user_id, time.time())

    def disconnect(self, connection_id: str) -> None:
        self.connections.delete(connection_id)


class ChatEndpoint:
    def __init__(self, chat: ChatService, sessions: SessionStore, connections: ConnectionStore,
                 sink: ConnectionSink, in_flight: AnswersInFlight | None = None, quota: QuotaPolicy | None = None):
        """`in_flight`: where a connection's answer in flight is marked (one at a time: a second
        sendMessage gets a `busy` error frame); by default, in this process. `quota`: what each
        question may spend, checked before the chat is asked (None: unlimited)."""
        self.chat = chat
        self.sessions = sessions
        self.connections = connections
        self.sink = sink
        self.lifecycle = ConnectionLifecycle(connections)
        self.in_flight = in_flight if in_flight is not None else InProcessAnswers()
        self.quota = quota

    # -- the connection's life ---------------------------------------------------------------
    def connect(self, connection_id: str, user_id: str | None) -> None:
        self.lifecycle.connect(connection_id, user_id)

    def disconnect(self, connection_id: str) -> None:
        self.lifecycle.disconnect(connection_id)

    def receive(self, connection_id: str, body: str, verified_user: str | None = None,
                address: str | None = None) -> None:
        """Handle one client frame. `verified_user` is the identity the transport vouches for with
        this very frame (API Gateway repeats the authorizer's context); the connection record wins.
        `address`: the client's network address, as the transport saw it (for per-address quotas)."""
        user_id = self.connections.user_of(connection_id) or verified_user
        if not user_id:
            self._safe_send(connection_id, protocol.error_frame("unauthenticated", "connect again with a valid token"))
            return
        request_id = None
        try:
            request_id = protocol.request_id_of(body)
            frame = protocol.parse_client_frame(body)
            request_id = frame.request_id or request_id
            self._dispatch(connection_id, user_id, frame, address)
        except ClientGone:
            log.info("connection %s went away", connection_id)
        except ProtocolError as exc:
            self._safe_send(connection_id, protocol.error_frame(exc.code, str(exc), request_id))
        except QuotaExceeded as exc:
            self._safe_send(connection_id, protocol.error_frame("quota_exceeded", str(exc), request_id,
                                                                retryAfter=exc.retry_after))
        except SessionNotFound as exc:
            self._safe_send(connection_id, protocol.error_frame("session_not_found", str(exc), request_id))
        except InvalidQuery as exc:
            self._safe_send(connection_id, protocol.error_frame("bad_request", str(exc), request_id))
        except GenerationError as exc:
            log.warning("generation failed for request %s: %s", request_id, exc)
            self._safe_send(connection_id, protocol.error_frame("generation_failed", exc.public, request_id))
        except Exception:
            log.exception("request %s failed", request_id)
            self._safe_send(connection_id, protocol.error_frame(
                "internal_error", "something went wrong answering this message", request_id))

    # -- frames ------------------------------------------------------------------------------
    def _send(self, connection_id: str, frame: dict) -> None:
        self.sink.post(connection_id, protocol.encode(frame))

    def _safe_send(self, connection_id: str, frame: dict) -> None:
        with contextlib.suppress(ClientGone):
            self._send(connection_id, frame)

    def _dispatch(self, connection_id: str, user_id: str, frame: protocol.ClientFrame, address: str | None) -> None:
        def send(server_frame: dict) -> None:
            self._send(connection_id, server_frame)

        if frame.action == "ping":
            send({"type": "pong", "requestId": frame.request_id})
        elif frame.action == "sendMessage":
            self._answer(connection_id, user_id, frame, send, address)
        elif frame.action == "listSessions":
            send({"type": "sessions", "requestId": frame.request_id,
                  "sessions": [s.as_dict() for s in self.sessions.list_sessions(user_id)]})
        elif frame.action == "deleteSession":
            if not self.sessions.delete_session(user_id, frame.session_id):
                raise SessionNotFound(f"no session {frame.session_id}")
            send({"type": "deleted", "requestId": frame.request_id, "sessionId": frame.session_id})
        elif frame.action == "getHistory":
            for page in history_pages(self.sessions.list_messages(user_id, frame.session_id)):
                send({"type": "history", "requestId": frame.request_id, "sessionId": frame.session_id, **page})

    def _answer(self, connection_id: str, user_id: str, frame: protocol.ClientFrame, send, address: str | None) -> None:
        if not self.in_flight.claim(connection_id):
            raise ProtocolError("busy", "an answer is still being written on this connection: wait for its end")
        last: list[dict] = []

        def send_held(item: dict) -> None:
            # the answer's last frame goes out only once the connection is free again, so a client
            # that asks its next question the moment it sees `end` is never told `busy`
            if item.get("type") in ("end", "error") and item.get("requestId") == frame.request_id:
                last.append(item)
            else:
                send(item)

        try:
            spent = None
            if self.quota is not None:  # before the chat makes any embedding or model call
                self.quota.admit(user_id, address, len(frame.message))
                spent = lambda tokens: self._charge(user_id, tokens)
            self.chat.answer(user_id, frame.message, send_held, session_id=frame.session_id,
                             request_id=frame.request_id, spent=spent)
        finally:
            self.in_flight.release(connection_id)
            for item in last:
                send(item)

    def _charge(self, user_id: str, tokens: int) -> None:
        try:
            self.quota.spent(user_id, tokens)
        except Exception:  # the answer is out: a failed count must not turn it into an error
            log.exception("could not count %d tokens of %s", tokens, user_id)


def _size(item: dict) -> int:
    return len(json.dumps(item, ensure_ascii=False).encode("utf-8"))


def history_message(stored) -> dict:
    """One stored message as a history frame carries it: citations clipped (messages stored before
    titles were bounded may hold any length), and a message too big for a frame shortened."""
    message = {**stored.as_dict(), "citations": [c.clipped().as_dict() for c in stored.citations]}
    if _size(message) <= HISTORY_FRAME_BUDGET:
        return message
    kept, _ = protocol.fitting([c.clipped() for c in stored.citations], HISTORY_FRAME_BUDGET // 2)
    # at most 6 bytes a character once JSON-escaped: the content keeps within 3/8 of the budget
    return {**message, "content": message["content"][: HISTORY_FRAME_BUDGET // 16], "truncated": True,
            "citations": [c.as_dict() for c in kept]}


def history_pages(messages) -> list[dict]:
    """A session's messages packed into as many history frames as the frame limit needs."""
    pages: list[list[dict]] = [[]]
    size = 0
    for stored in messages:
        message = history_message(stored)
        cost = _size(message)
        if pages[-1] and size + cost > HISTORY_FRAME_BUDGET:
            pages.append([])
            size = 0
        pages[-1].append(message)
        size += cost
    return [{"messages": page, "last": index == len(pages) - 1} for index, page in enumerate(pages)]
