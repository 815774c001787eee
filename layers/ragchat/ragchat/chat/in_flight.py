"""Answers in flight, tracked in this process: one per connection (the AnswersInFlight port)."""

from __future__ import annotations

import threading


class InProcessAnswers:
    def __init__(self) -> None:
        self._busy: set[str] = set()
        self._lock = threading.Lock()

    def claim(self, connection_id: str) -> bool:
        with self._lock:
            if connection_id in self._busy:
                return False
            self._busy.add(connection_id)
            return True

    def release(self, connection_id: str) -> None:
        with self._lock:
            self._busy.discard(connection_id)
