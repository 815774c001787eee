"""Citations in a streamed answer: `[n]` markers that point at numbered sources.

The filter sits between a generator and the user. It passes text through as it streams, holds
back only a possible marker that is still open (`[`, `[1`, `[1, 2`), drops markers that cite a
source that was not retrieved, and records which sources were cited, in order of first citation.
"""

from __future__ import annotations

import re

# `arr[0]` is code, not a citation: a marker never follows a letter or digit directly.
_MARKER = re.compile(r"(?<!\w)\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_OPEN_MARKER = re.compile(r"(?<!\w)\[[\d,\s]{0,24}$")


class CitationFilter:
    def __init__(self, valid: set[int]):
        self.valid = valid
        self.cited: list[int] = []
        self._pending = ""

    def _rewrite(self, match: re.Match) -> str:
        numbers = [int(n) for n in re.findall(r"\d+", match.group(1))]
        kept = [n for n in numbers if n in self.valid]
        for n in kept:
            if n not in self.cited:
                self.cited.append(n)
        return "".join(f"[{n}]" for n in kept)

    def feed(self, text: str) -> str:
        """Text safe to show now; an open marker at the end waits for the next piece."""
        buffer = self._pending + text
        open_marker = _OPEN_MARKER.search(buffer)
        if open_marker:
            self._pending, buffer = buffer[open_marker.start():], buffer[:open_marker.start()]
        else:
            self._pending = ""
        return _MARKER.sub(self._rewrite, buffer)

    def flush(self) -> str:
        """The rest, at the end of the answer (an unclosed `[` is plain text then)."""
        rest, self._pending = _MARKER.sub(self._rewrite, self._pending), ""
        return rest
