"""Parsers by file type. Each turns bytes into a ParsedDocument or raises a DocumentRejected.

Heavy libraries (pypdf, python-docx, BeautifulSoup, markdown-it) are imported inside the parser
that needs them, so a Lambda only pays for the formats it actually sees. Whatever a parser or its
library raises on a file's bytes, `parse` turns into a rejection with its reason: the same bytes
would fail the same way on any retry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ragchat.domain import ParsedDocument, SourceObject
from ragchat.errors import CorruptDocument, DocumentRejected, EmptyDocument, UnsupportedFormat

from . import html, markdown, office, pdf, plain, structured
from .common import public_url
from .limits import UNLIMITED, ParseBudget, clipped

ParserFn = Callable[[bytes, SourceObject, ParseBudget], ParsedDocument]

PARSERS_BY_EXTENSION: dict[str, ParserFn] = {
    "md": markdown.parse,
    "markdown": markdown.parse,
    "txt": plain.parse,
    "text": plain.parse,
    "log": plain.parse,
    "rst": plain.parse,
    "html": html.parse,
    "htm": html.parse,
    "pdf": pdf.parse,
    "docx": office.parse_docx,
    "csv": structured.parse_csv,
    "tsv": structured.parse_csv,
    "json": structured.parse_json,
    "jsonl": structured.parse_jsonl,
}

PARSERS_BY_MEDIA_TYPE: dict[str, ParserFn] = {
    "text/markdown": markdown.parse,
    "text/plain": plain.parse,
    "text/html": html.parse,
    "application/pdf": pdf.parse,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": office.parse_docx,
    "text/csv": structured.parse_csv,
    "application/json": structured.parse_json,
}

SUPPORTED_EXTENSIONS = frozenset(PARSERS_BY_EXTENSION)
REASON_CHARS = 300  # of a library's own message, in a rejection's reason


def parser_for(obj: SourceObject) -> ParserFn:
    if obj.media_type and obj.media_type in PARSERS_BY_MEDIA_TYPE:
        return PARSERS_BY_MEDIA_TYPE[obj.media_type]
    parser = PARSERS_BY_EXTENSION.get(obj.extension)
    if parser is None:
        kind = f".{obj.extension}" if obj.extension else "files without an extension"
        raise UnsupportedFormat(f"unsupported file type ({kind})")
    return parser


def parse(data: bytes, obj: SourceObject, budget: ParseBudget = UNLIMITED) -> ParsedDocument:
    """Parse one file within `budget`; raise a DocumentRejected subclass with a readable reason if it
    cannot be used. Titles and heading paths come back clipped (ingest/parsers/limits.py)."""
    parser = parser_for(obj)
    if not data.strip():
        raise EmptyDocument("empty file")
    try:
        parsed = parser(data, obj, budget)
    except DocumentRejected:
        raise
    except Exception as exc:  # a library giving up on these bytes (RecursionError, IndexError, ...) gives up again
        raise CorruptDocument(f"could not parse the file ({type(exc).__name__}: {str(exc)[:REASON_CHARS]})") from exc
    if parsed.is_empty:
        raise EmptyDocument("no text found in the file")
    # where the source says the public reads it (S3 metadata) wins over what the file says of itself
    return clipped(replace(parsed, url=public_url(obj.url) or public_url(parsed.url)))
