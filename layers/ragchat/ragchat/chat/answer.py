"""The text of one answer on its way to the client: citations checked, deltas coalesced, numbered.

A generator (or the tool loop) writes text pieces; `AnswerText` drops citations of sources that
were not found, holds back a marker that is still open, sends `delta` frames no closer than the
coalescer's interval, and keeps what the user was shown, to be stored.
"""

from __future__ import annotations

from collections.abc import Callable

from ragchat.chat import protocol
from ragchat.chat.citations import CitationFilter
from ragchat.chat.streaming import DeltaCoalescer

FrameSink = Callable[[dict], None]  # delivers one server frame; raises ClientGone if the client left


class AnswerText:
    def __init__(self, request_id: str, send: FrameSink, citable: set[int]):
        self.request_id = request_id
        self.send = send
        self.citations = CitationFilter(citable)  # live: sources found by tools become citable
        self.coalescer = DeltaCoalescer(self._emit)
        self.shown: list[str] = []
        self.seq = 0

    def _emit(self, text: str) -> None:
        self.seq += 1
        self.send(protocol.delta_frame(self.request_id, self.seq, text))

    def write(self, piece: str) -> None:
        """One piece of streamed text (a TextSink)."""
        visible = self.citations.feed(piece)
        self.shown.append(visible)
        self.coalescer.write(visible)

    def flush(self) -> None:
        """Everything said so far goes out (a tool step starts, or the answer ends)."""
        tail = self.citations.flush()  # at a step's end an unclosed `[` is plain text
        self.shown.append(tail)
        self.coalescer.write(tail)
        self.coalescer.close()

    @property
    def text(self) -> str:
        return "".join(self.shown)

    @property
    def cited(self) -> list[int]:
        """Source numbers in order of first citation."""
        return self.citations.cited
