"""Parsers by file type. Each turns bytes into a ParsedDocument or raises a DocumentRejected.

Heavy libraries (pypdf, python-docx, BeautifulSoup, markdown-it) are imported inside the parser
that needs them, so a Lambda only pays for the formats it actually sees.
"""

from __future__ import annotations

from collections.abc import Callable

from ragchat.domain import ParsedDocument, SourceObject
from ragchat.errors import EmptyDocument, UnsupportedFormat

from . import html, markdown, office, pdf, plain, structured

ParserFn = Callable[[bytes, SourceObject], ParsedDocument]

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


def parser_for(obj: SourceObject) -> ParserFn:
    if obj.media_type and obj.media_type in PARSERS_BY_MEDIA_TYPE:
        return PARSERS_BY_MEDIA_TYPE[obj.media_type]
    parser = PARSERS_BY_EXTENSION.get(obj.extension)
    if parser is None:
        kind = f".{obj.extension}" if obj.extension else "files without an extension"
        raise UnsupportedFormat(f"unsupported file type ({kind})")
    return parser


def parse(data: bytes, obj: SourceObject) -> ParsedDocument:
    """Parse one file; raise a DocumentRejected subclass with a readable reason if it cannot be used."""
    parser = parser_for(obj)
    if not data.strip():
        raise EmptyDocument("empty file")
    parsed = parser(data, obj)
    if parsed.is_empty:
        raise EmptyDocument("no text found in the file")
    return parsed
