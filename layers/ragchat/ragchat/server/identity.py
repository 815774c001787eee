"""Who is behind a local request: the one local user, holding the local token when one is set.

The token comes in an `Authorization: Bearer` header; a browser cannot set headers on a WebSocket,
so the WebSocket handshake may carry it as `?token=` (as API Gateway's authorizer takes it). It is
compared in constant time.
"""

from __future__ import annotations

import hmac

from starlette.requests import HTTPConnection

from ragchat.access import LOCAL_USER, visitor_id
from ragchat.errors import Unauthenticated
from ragchat.origins import origin_allowed
from ragchat.server.app import Identity
from ragchat.server.origin import same_origin


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


def visitor_or_owner(token: str | None, allowed: frozenset[str], owner: Identity) -> Identity:
    """Who is behind a WebSocket when visitors may chat (`ragchat serve --public`): the owner, as
    `owner` says, from the server's own page or a client that is no browser; from a page of an
    allowed site, the owner only with the configured token, else a visitor, holding the `?visitor=`
    id its widget keeps. Any other site's page was refused before this (SameOriginOnly)."""

    def identify(connection: HTTPConnection) -> str:
        if same_origin(connection.headers):
            return owner(connection)
        if not origin_allowed(connection.headers.get("origin"), allowed):
            raise Unauthenticated("pages of this site may not connect")
        if token and supplied_token(connection):
            return owner(connection)
        try:
            return visitor_id(connection.query_params.get("visitor", ""))
        except ValueError as exc:
            raise Unauthenticated(str(exc)) from exc

    return identify
