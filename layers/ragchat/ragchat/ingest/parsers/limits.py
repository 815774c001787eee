"""What parsing one file may cost: a time budget checked as elements are walked, and the size of
what a parsed document carries besides its text (titles and heading paths end up in every chunk,
source, citation and stored message, so they are clipped here, once, whatever the format)."""

from __future__ import annotations

import time
from collections.abc import Callable

from ragchat.domain import ParsedDocument, Section
from ragchat.errors import DocumentTooComplex
from ragchat.text import clip_line

MAX_TITLE_CHARS = 200
MAX_HEADING_CHARS = 200
MAX_HEADING_DEPTH = 8


class ParseBudget:
    """A deadline for parsing one file. Parsers call `check()` between elements; a single library
    call (one PDF page, one XML parse) is bounded by the size and element limits, not interrupted."""

    def __init__(self, seconds: float | None, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self.clock = clock
        self.deadline = None if seconds is None else clock() + seconds

    def check(self) -> None:
        if self.deadline is not None and self.clock() > self.deadline:
            raise DocumentTooComplex(f"parsing took longer than the {self.seconds:g} s budget")


UNLIMITED = ParseBudget(None)


def clipped(parsed: ParsedDocument) -> ParsedDocument:
    """The document with its title and heading paths cut to their limits."""
    sections = tuple(
        Section(text=s.text, page=s.page,
                heading_path=tuple(clip_line(h, MAX_HEADING_CHARS) for h in s.heading_path[:MAX_HEADING_DEPTH]))
        for s in parsed.sections)
    return ParsedDocument(title=clip_line(parsed.title, MAX_TITLE_CHARS), sections=sections, doc_type=parsed.doc_type)
