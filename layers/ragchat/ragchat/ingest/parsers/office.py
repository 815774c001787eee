"""DOCX: sections follow the Heading styles; tables become one line a row.

The archive is checked before python-docx opens it (ingest/parsers/archive.py), and paragraph
styles are looked up in a table built once: python-docx's `Paragraph.style` searches the styles
part with XPath on every call, about a millisecond a paragraph.
"""

from __future__ import annotations

import io
import zipfile

from ragchat.domain import ParsedDocument, Section, SourceObject
from ragchat.errors import CorruptDocument

from .archive import check_archive
from .common import fallback_title
from .limits import UNLIMITED, ParseBudget


def _heading_level(style_name: str) -> int | None:
    if style_name == "Title":
        return 0  # above Heading 1, so the headings nest under the title
    if style_name.startswith("Heading "):
        tail = style_name.removeprefix("Heading ").strip()
        if tail.isdigit():
            return int(tail)
    return None


def _paragraph_style_names(document) -> tuple[dict[str, str], str]:
    """Paragraph style id -> name, and the default paragraph style's name (for paragraphs naming none
    or a style the document lacks, as python-docx resolves them)."""
    from docx.enum.style import WD_STYLE_TYPE

    styles = document.styles
    names = {s.style_id: s.name or "" for s in styles if s.type == WD_STYLE_TYPE.PARAGRAPH}
    default = styles.default(WD_STYLE_TYPE.PARAGRAPH)
    return names, (default.name or "") if default is not None else ""


def parse_docx(data: bytes, obj: SourceObject, budget: ParseBudget = UNLIMITED) -> ParsedDocument:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    check_archive(data, "DOCX", budget)
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = document.iter_inner_content()
        core_title = document.core_properties.title or ""
        style_names, default_style = _paragraph_style_names(document)
    except (zipfile.BadZipFile, KeyError, ValueError, AttributeError) as exc:
        raise CorruptDocument(f"unreadable DOCX ({type(exc).__name__}: {exc})") from exc

    sections: list[Section] = []
    headings: list[tuple[int, str]] = []
    paragraphs: list[str] = []
    first_heading = None

    def flush() -> None:
        if paragraphs:
            sections.append(Section(text="\n\n".join(paragraphs), heading_path=tuple(h for _, h in headings)))
            paragraphs.clear()

    for block in blocks:
        budget.check()
        if isinstance(block, Paragraph):
            text = block.text.strip()
            if not text:
                continue
            style_id = block._p.style  # the pStyle id, without python-docx's per-call XPath lookup
            level = _heading_level(style_names.get(style_id, default_style) if style_id else default_style)
            if level is not None:
                flush()
                while headings and headings[-1][0] >= level:
                    headings.pop()
                headings.append((level, text))
                first_heading = first_heading or text
            else:
                paragraphs.append(text)
        elif isinstance(block, Table):
            for row in block.rows:
                budget.check()
                cells = [cell.text.strip() for cell in row.cells]
                if any(cells):
                    paragraphs.append(" | ".join(cells))
    flush()
    title = obj.title or core_title.strip() or first_heading or fallback_title(obj)
    return ParsedDocument(title=title, sections=tuple(sections), doc_type="docx")
