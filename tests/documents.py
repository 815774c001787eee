"""Builders of small real documents (PDF, DOCX) for tests."""

from __future__ import annotations

import io


def make_pdf(pages: list[str], title: str | None = None) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    if title:
        pdf.set_title(title)
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def make_docx(blocks: list[tuple[str, str]], table: list[list[str]] | None = None) -> bytes:
    """blocks: (style, text) with style 'Title', 'Heading 1', 'Heading 2' or 'Normal'."""
    import docx

    document = docx.Document()
    for style, text in blocks:
        document.add_paragraph(text, style=style)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def docx_with_body(body: bytes, padding: bytes = b"") -> bytes:
    """A DOCX made the way a hostile file is: python-docx's own template (styles and all) with
    `body` as the document's body XML, and `padding` (e.g. whitespace) inside the document part."""
    import zipfile

    buffer = io.BytesIO()
    source = zipfile.ZipFile(io.BytesIO(make_docx([])))
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "word/document.xml":
                start, end = data.index(b"<w:body>") + len(b"<w:body>"), data.index(b"</w:body>")
                data = data[:start] + body + padding + data[end:]
            target.writestr(info.filename, data)
    return buffer.getvalue()
