"""`ragchat serve`: the local server and its watched drop folder, in one process."""

from __future__ import annotations

from ragchat.bootstrap import LocalServer
from ragchat.errors import ConfigurationError
from ragchat.server.origin import is_loopback

WS_MAX_SIZE = 4 * 1024 * 1024  # bigger than any frame the protocol accepts, so oversize gets an error frame


def check_bind(host: str, token: str, allow_no_token: bool) -> None:
    """Refuse to serve beyond this machine without a token: anyone who reaches the port could read,
    upload and delete documents and read every chat."""
    if not is_loopback(host) and not token and not allow_no_token:
        raise ConfigurationError(
            f"refusing to serve on {host} without a token: anyone who can reach this machine could read and "
            "delete your documents and chats. Set RAGCHAT_LOCAL_TOKEN, or pass --allow-no-token to serve "
            "without one anyway.")


def check_public(origins: frozenset[str], token: str, allow_no_token: bool) -> None:
    """With visitors on, other sites' pages reach the server: the owner's powers (uploads, deletes,
    private documents) must then be behind the token."""
    if origins and not token and not allow_no_token:
        raise ConfigurationError(
            "refusing to let visitors in without a token: any client that is not a browser could act as you "
            "(upload, delete, read your uploads). Set RAGCHAT_LOCAL_TOKEN, or pass --allow-no-token.")


def serve(server: LocalServer, host: str, port: int, warm_up=None) -> None:
    """Serve until interrupted. `warm_up` runs first (the embedding model loads before the first
    question, not during it)."""
    import uvicorn

    if warm_up:
        warm_up()
    if server.watcher:
        server.watcher.start()
    watching = f", watching {server.watcher.folder}" if server.watcher else ""
    print(f"ragchat: chat on http://{host}:{port}  (WebSocket ws://{host}:{port}/ws){watching}", flush=True)
    print(f"ragchat: embed with <script src=\"http://{host}:{port}/widget.js\" defer></script>", flush=True)
    try:
        uvicorn.run(server.app, host=host, port=port, log_level="warning", ws_max_size=WS_MAX_SIZE)
    finally:
        if server.watcher:
            server.watcher.stop.set()
