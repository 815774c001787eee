"""Who may talk to the local server: only a Host it serves (no DNS rebinding), and only its own
page or clients that are not browsers (no cross-site WebSocket, form post or delete).

A page on another site can make a browser send requests to 127.0.0.1, and a rebinding name
(attacker.example resolving to 127.0.0.1) makes them look same-origin to the browser. The Host
header gives the second away; the Origin header (and Sec-Fetch-Site) the first. Clients that send
no Origin, such as the CLI, scripts and curl, are not pages and pass.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ragchat.origins import origin_allowed

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
WILDCARD_BINDS = ("", "0.0.0.0", "::", "[::]")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SAME_SITE_FETCHES = frozenset({"same-origin", "none"})  # `none`: the user typed the URL or followed a bookmark


def served_hosts(bind_host: str, extra: str = "") -> tuple[str, ...]:
    """The Host names the server answers to: loopback, the address it binds (unless a wildcard), and
    the names the settings add (RAGCHAT_ALLOWED_HOSTS: the machine's name or LAN address, separated
    by spaces or commas)."""
    names = [*LOOPBACK_NAMES, *(name.lower() for name in extra.replace(",", " ").split())]
    bind = bind_host.strip().lower()
    if bind not in WILDCARD_BINDS:
        names.append(f"[{bind}]" if ":" in bind and not bind.startswith("[") else bind)
    return tuple(dict.fromkeys(names))


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def same_origin(headers: Headers) -> bool:
    """True for the server's own page and for clients that send no Origin; False for any other page."""
    if headers.get("sec-fetch-site", "none") not in SAME_SITE_FETCHES:
        return False
    origin = headers.get("origin")
    if origin is None:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and parts.netloc.lower() == headers.get(
        "host", "").lower()


class SameOriginOnly:
    """ASGI middleware: refuses a WebSocket handshake or a state-changing request sent by a page of
    another origin (403), before the app sees it. `chat_origins`: sites whose pages may open the
    WebSocket all the same (visitors, with `ragchat serve --public`); never anything else."""

    def __init__(self, app: ASGIApp, chat_origins: frozenset[str] = frozenset()):
        self.app = app
        self.chat_origins = chat_origins

    def _allowed(self, scope: Scope) -> bool:
        headers = Headers(scope=scope)
        if same_origin(headers):
            return True
        return scope["type"] == "websocket" and origin_allowed(headers.get("origin"), self.chat_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        guarded = scope["type"] == "websocket" or (scope["type"] == "http" and scope["method"] not in SAFE_METHODS)
        if guarded and not self._allowed(scope):
            refusal = "requests from another site's page are refused"
            if scope["type"] == "websocket":
                response = PlainTextResponse(refusal, status_code=403)
            else:
                response = JSONResponse({"error": "NotAllowed", "detail": refusal}, status_code=403)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
