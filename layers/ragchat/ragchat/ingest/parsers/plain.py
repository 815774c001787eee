from __future__ import annotations

from ragchat.domain import ParsedDocument, Section, SourceObject
from ragchat.text import normalise_whitespace

from .common import decode_text, fallback_title
from .limits import UNLIMITED, ParseBudget


def parse(data: bytes, obj: SourceObject, budget: ParseBudget = UNLIMITED) -> ParsedDocument:
    text = normalise_whitespace(decode_text(data))
    return ParsedDocument(title=fallback_title(obj), sections=(Section(text=text),), doc_type="text")
