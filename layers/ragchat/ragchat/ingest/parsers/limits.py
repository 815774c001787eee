"""What parsing one file may cost: a time budget checked as elements are walked, and the size of
what a parsed document carries besides its text (titles and heading paths end up in every chunk,
source, citation and stored message, so `clipped` cuts them once, whatever the format)."""

from __future__ import annotations

import time
from collections.abc import Callable

from ragchat.domain import ParsedDocument, Section, clip_heading_path, clip_title
from ragchat.errors import DocumentTooComplex


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
    sections = tuple(Section(text=s.text, page=s.page, heading_path=clip_heading_path(s.heading_path))
                     for s in parsed.sections)
    return ParsedDocument(title=clip_title(parsed.title), sections=sections, doc_type=parsed.doc_type, url=parsed.url)
