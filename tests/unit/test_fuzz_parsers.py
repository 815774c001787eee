"""Every parser fuzzed (Hypothesis) with generated and mutated files: each one is parsed or
rejected with a reason, within its budget, with bounded titles and headings; nothing crashes."""

import io
import zipfile
from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ragchat.domain import SourceObject
from ragchat.errors import DocumentRejected
from ragchat.ingest.chunking import StructuredChunker
from ragchat.ingest.parsers import parse
from ragchat.ingest.parsers.limits import ParseBudget
from tests.documents import make_docx, make_pdf
from tests.support.fuzz import as_json, fuzzing, json_values, tally

BUDGET_S = 5.0
CHUNKER = StructuredChunker(200, 30)


@cache
def good_pdf() -> bytes:
    return make_pdf(["The staging password rotates every 17 days.", "Page two."], title="Runbook")


@cache
def good_docx() -> bytes:
    return make_docx([("Title", "Runbook"), ("Heading 1", "Staging"), ("Normal", "It rotates every 17 days.")],
                     table=[["a", "b"], ["1", "2"]])


def mutated(base: bytes):
    """`base` with bytes replaced, cut or repeated at generated places."""
    edits = st.lists(st.tuples(st.integers(0, len(base) - 1), st.binary(min_size=1, max_size=8)), max_size=12)
    return st.one_of(
        edits.map(lambda changes: _apply(base, changes)),
        st.integers(0, len(base)).map(lambda cut: base[:cut]),
        st.tuples(st.integers(0, len(base) - 1), st.integers(1, 200)).map(
            lambda at: base[:at[0]] + base[at[0]:at[0] + 16] * at[1] + base[at[0]:]),
    )


def _apply(base: bytes, changes) -> bytes:
    data = bytearray(base)
    for position, replacement in changes:
        data[position:position + len(replacement)] = replacement
    return bytes(data)


def docx_with_document(xml: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(good_docx()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, xml if info.filename == "word/document.xml" else source.read(info))
    return buffer.getvalue()


@cache
def good_document_xml() -> bytes:
    return zipfile.ZipFile(io.BytesIO(good_docx())).read("word/document.xml")


MARKDOWN = st.text(alphabet=st.sampled_from([*"#*_[]()`|->!:\n \t=~<>/\\0123abcXYZ", "é", "\u200b", "\x00"]),
                   max_size=3000)
HTML_PIECES = ["<div>", "</div>", "<h1>", "</h1>", "<h3>", "<title>", "</title>", "<script>", "</script>", "<p>",
               "<!--", "-->", "<table><tr><td>", "</td></tr></table>", "<br>", "<![CDATA[", "]]>", "<svg><g>",
               "&amp;", "&#0;", "&#x110000;", "<a href='javascript:x'>", "text ", "\n", "<", ">", "\"", "<head>",
               "<body>", "<template>", "<html>", "<?xml?>", "<!DOCTYPE html>"]
HTML = st.lists(st.sampled_from(HTML_PIECES) | st.text(max_size=20), max_size=300).map("".join)
CSV = st.text(alphabet=st.sampled_from([*',;\t|"\n\r ab1é', "\x00"]), max_size=3000)
XML_PIECES = [b"<w:p>", b"</w:p>", b"<w:r>", b"</w:r>", b"<w:t>", b"</w:t>", b"text", b"<w:tbl><w:tr><w:tc>",
              b"</w:tc></w:tr></w:tbl>", b'<w:pPr><w:pStyle w:val="Heading1"/></w:pPr>', b"<w:p/>", b"<", b"&",
              b'<w:pStyle w:val="x"/>', b"<w:sectPr/>"]
DOCUMENT_BODIES = st.lists(st.sampled_from(XML_PIECES), max_size=200).map(b"".join)

FILES = {
    "md": st.one_of(MARKDOWN.map(str.encode), st.binary(max_size=2000)),
    "html": HTML.map(str.encode),
    "txt": st.one_of(st.binary(max_size=3000), st.text(max_size=3000).map(str.encode)),
    "csv": CSV.map(str.encode),
    "json": st.one_of(json_values.map(as_json).map(str.encode), st.text(max_size=500).map(str.encode)),
    "jsonl": st.lists(json_values.map(as_json) | st.text(max_size=40), max_size=40).map("\n".join).map(str.encode),
    "pdf": st.deferred(lambda: mutated(good_pdf())),
    "docx": st.one_of(st.deferred(lambda: mutated(good_docx())),
                      DOCUMENT_BODIES.map(lambda body: docx_with_document(
                          good_document_xml().replace(b"<w:body>", b"<w:body>" + body, 1)))),
}
EXAMPLES = {"md": 60, "html": 60, "txt": 40, "csv": 40, "json": 40, "jsonl": 40, "pdf": 40, "docx": 40}


@pytest.mark.parametrize("extension", sorted(FILES))
def test_fuzz_parser_parses_or_rejects_every_file_within_its_budget(extension):
    obj = SourceObject(key=f"fuzzed.{extension}", uri=f"file:///fuzzed.{extension}", size=0)

    @fuzzing(examples=EXAMPLES[extension], deadline_ms=int(BUDGET_S * 1000))
    @given(FILES[extension])
    def one_file(data):
        try:
            parsed = parse(data, obj, ParseBudget(BUDGET_S))
        except DocumentRejected as rejected:
            assert str(rejected)  # a reason the user can read
        else:
            assert len(parsed.title) <= 200
            assert all(len(h) <= 200 for s in parsed.sections for h in s.heading_path)
            CHUNKER.split(parsed, obj, "hash")
        tally[f"{extension} files"] += 1

    one_file()
