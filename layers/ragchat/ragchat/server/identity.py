"""Who is behind a local request: the one local user, holding the local token when one is set."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from ragchat.access import LOCAL_USER
from ragchat.errors import Unauthenticated
from ragchat.server.app import Identity


def local_identity(token: str | None, user: str = LOCAL_USER) -> Identity:
    """The one local user; with a token configured, only requests that carry it."""

    def identify(connection: HTTPConnection) -> str:
        if token:
            supplied = connection.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if (supplied or connection.query_params.get("token", "")) != token:
                raise Unauthenticated("missing or wrong token")
        return user

    return identify
