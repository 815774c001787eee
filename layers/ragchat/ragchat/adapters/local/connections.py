"""Connections of one process (the local server): connection id -> user."""

from __future__ import annotations

import threading


class InMemoryConnections:
    """ConnectionStore for the local server, where every connection lives in this process."""

    def __init__(self):
        self._users: dict[str, str] = {}
        self._lock = threading.Lock()

    def put(self, connection_id: str, user_id: str, connected_at: float) -> None:
        with self._lock:
            self._users[connection_id] = user_id

    def user_of(self, connection_id: str) -> str | None:
        with self._lock:
            return self._users.get(connection_id)

    def delete(self, connection_id: str) -> None:
        with self._lock:
            self._users.pop(connection_id, None)
