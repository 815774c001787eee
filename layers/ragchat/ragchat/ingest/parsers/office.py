"""DOCX: sections follow the Heading styles; tables become one line a row."""

from __future__ import annotations

import io
import zipfile

from ragchat.domain import ParsedDocument, Section, SourceObject
from ragchat.errors import CorruptDocument

from .common import fallback_title


def _heading_level(style_name: str) -> int | None:
    if style_name == "Title":
        return 0  # above Heading 1, so the headings nest under the title
    if style_name.startswith("Heading "):
        tail = style_name.removeprefix("Heading ").strip()
        if tail.isdigit():
            return int(tail)
    return None


def parse_docx(data: bytes, obj: SourceObject) -> ParsedDocument:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
        blocks = list(document.iter_inner_content())
        core_title = document.core_properties.title or ""
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
        if isinstance(block, Paragraph):
            text = block.text.strip()
            level = _heading_level(block.style.name if block.style is not None else "")
            if level is not None and text:
                flush()
                while headings and headings[-1][0] >= level:
                    headings.pop()
                headings.append((level, text))
                first_heading = first_heading or text
            elif text:
                paragraphs.append(text)
        elif isinstance(block, Table):
            for row in block.rows:
                cells = [cell.text.strip() for cell in row.cells]
                if any(cells):
                    paragraphs.append(" | ".join(cells))
    flush()
    title = obj.title or core_title.strip() or first_heading or fallback_title(obj)
    return ParsedDocument(title=title, sections=tuple(sections), doc_type="docx")
