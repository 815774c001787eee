"""PDF: one section per page, so every chunk knows its page number."""

from __future__ import annotations

import io
import logging

from ragchat.domain import ParsedDocument, Section, SourceObject
from ragchat.errors import CorruptDocument
from ragchat.text import normalise_whitespace

from .common import fallback_title
from .limits import UNLIMITED, ParseBudget


def parse(data: bytes, obj: SourceObject, budget: ParseBudget = UNLIMITED) -> ParsedDocument:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise CorruptDocument("the PDF is encrypted with a password")
        sections = []
        for number, page in enumerate(reader.pages, start=1):
            budget.check()
            text = normalise_whitespace(page.extract_text() or "")
            if text:
                sections.append(Section(text=text, page=number))
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
    except CorruptDocument:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise CorruptDocument(f"unreadable PDF ({type(exc).__name__}: {exc})") from exc
    title = obj.title or meta_title.strip() or fallback_title(obj)
    return ParsedDocument(title=title, sections=tuple(sections), doc_type="pdf")
