"""Who is behind a local request: the one local user, holding the local token when one is set.

The token comes in an `Authorization: Bearer` header; a browser cannot set headers on a WebSocket,
so the WebSocket handshake may carry it as `?token=` (as API Gateway's authorizer takes it). It is
compared in constant time.
"""

from __future__ import annotations

import hmac

from starlette.requests import HTTPConnection

from ragchat.access import LOCAL_USER
from ragchat.errors import Unauthenticated
from ragchat.server.app import Identity


def supplied_token(connection: HTTPConnection) -> str:
    header = connection.headers.get("authorization", "")
    if header.startswith("Bearer "):
        return header.removeprefix("Bearer ").strip()
    if connection.scope["type"] == "websocket":
        return connection.query_params.get("token", "")
    return ""


def local_identity(token: str | None, user: str = LOCAL_USER) -> Identity:
    """The one local user; with a token configured, only requests that carry it."""
    expected = (token or "").encode("utf-8")

    def identify(connection: HTTPConnection) -> str:
        if expected and not hmac.compare_digest(supplied_token(connection).encode("utf-8"), expected):
            raise Unauthenticated("missing or wrong token")
        return user

    return identify
