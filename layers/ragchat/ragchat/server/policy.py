"""The page's Content-Security-Policy: its own scripts only, no form submitted anywhere, and
connections only to its own server and the endpoints the server's settings name.

The policy is a response header, so it names what the server's settings allow
(RAGCHAT_PAGE_ENDPOINTS), never what a page's settings panel holds: a URL typed there that the
server does not list is blocked by the browser before any byte, or token, leaves the page.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ragchat.errors import ConfigurationError

_ORIGIN = re.compile(r"(?:wss?|https?)://(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?")


def connect_sources(raw: str) -> tuple[str, ...]:
    """Endpoints besides its own server the page may reach: origins such as
    wss://abc.execute-api.eu-west-1.amazonaws.com, separated by spaces or commas."""
    endpoints = tuple(e.rstrip("/") for e in re.split(r"[\s,]+", raw.strip()) if e)
    bad = [e for e in endpoints if not _ORIGIN.fullmatch(e)]
    if bad:
        raise ConfigurationError(f"RAGCHAT_PAGE_ENDPOINTS: {', '.join(bad)} is not a ws(s):// or http(s):// origin")
    return endpoints


def content_security_policy(endpoints: tuple[str, ...] = ()) -> str:
    connect = " ".join(("'self'", *endpoints))
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src {connect}; form-action 'none'; object-src 'none'; base-uri 'none'; "
            "frame-ancestors 'none'")


class SecurityHeaders:
    """ASGI middleware: the policy and its companions on every HTTP response (plain ASGI, so an
    exception raised while a body streams in reaches the app's handlers as itself)."""

    def __init__(self, app: ASGIApp, policy: str):
        self.app = app
        self.headers = [(b"content-security-policy", policy.encode()), (b"x-content-type-options", b"nosniff"),
                        (b"referrer-policy", b"no-referrer")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in self.headers if name not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)
