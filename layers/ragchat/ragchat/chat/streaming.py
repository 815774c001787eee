"""Token streams to frames: coalesce tokens so a client gets at most one delta per interval."""

from __future__ import annotations

import time
from collections.abc import Callable

DELTA_INTERVAL_S = 0.05
MAX_DELTA_CHARS = 5000  # 5,000 characters stay under 32 KB even if every one is JSON-escaped (6 bytes)


class DeltaCoalescer:
    """Collects streamed text and calls `emit(text)`: the first piece at once, then never two calls
    less than `interval` seconds apart, and whatever is left on `close()` at once (the answer's
    closing frames follow it straight away, so waiting there would only delay the end). Long text
    is cut so no frame is too big. Where keeping the spacing means waiting (an oversized buffer),
    the caller's thread sleeps the remainder: backpressure instead of a burst."""

    def __init__(self, emit: Callable[[str], None], interval: float = DELTA_INTERVAL_S,
                 max_chars: int = MAX_DELTA_CHARS, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.emit = emit
        self.interval = interval
        self.max_chars = max_chars
        self.clock = clock
        self.sleep = sleep
        self._buffer: list[str] = []
        self._size = 0
        self._last_emit: float | None = None

    def write(self, text: str) -> None:
        if not text:
            return
        self._buffer.append(text)
        self._size += len(text)
        now = self.clock()
        if self._last_emit is None or now - self._last_emit >= self.interval or self._size >= self.max_chars:
            self._drain(now)

    def close(self) -> None:
        if self._buffer:
            self._drain(self.clock(), final=True)

    def _drain(self, now: float, final: bool = False) -> None:
        text = "".join(self._buffer)
        self._buffer, self._size = [], 0
        for start in range(0, len(text), self.max_chars):
            if self._last_emit is not None and not (final and start == 0):
                wait = self._last_emit + self.interval - now
                if wait > 0:
                    self.sleep(wait)
                    now = self.clock()
            self.emit(text[start:start + self.max_chars])
            self._last_emit = self.clock()  # after the send: a slow send must not shorten the next gap
