"""Hostile files cost little: archives are checked before parsing, parsing has a time budget, and
what a file names itself (titles, headings) is clipped. Real parsers on crafted files."""

import json
import threading
import time

import pytest

from ragchat.adapters.local.folder import FolderSource
from ragchat.domain import SourceObject
from ragchat.errors import DocumentRejected
from ragchat.ingest.parsers import parse
from tests.documents import docx_with_body
from tests.unit.test_pipeline import pipeline

DOCX = SourceObject(key="bomb.docx", uri="file:///bomb.docx", size=0)


def outcome_within(seconds: float, data: bytes, obj: SourceObject = DOCX):
    """What parsing gives (a document or the rejection) and how long it took; a parse still running
    after `seconds` fails the test instead of hanging it."""
    result: dict = {}

    def run():
        started = time.perf_counter()
        try:
            result["value"] = parse(data, obj)
        except Exception as exc:  # the test looks at what was raised
            result["value"] = exc
        result["seconds"] = time.perf_counter() - started

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"parsing {len(data):,} bytes took over {seconds} s"
    return result["value"], result["seconds"]


@pytest.mark.parametrize("paragraphs,reason", [
    (20_000, "no text found"),  # 36 KiB: was 22 s, python-docx looking up each paragraph's style
    (2_000_000, "over 400,000 XML elements"),  # 53 KiB: never finished; now refused before parsing
], ids=["20000", "2000000"])
def test_docx_of_empty_paragraphs_is_done_with_within_two_seconds(paragraphs, reason):
    data = docx_with_body(b"<w:p/>" * paragraphs)
    assert len(data) < 64 * 1024
    outcome, seconds = outcome_within(5, data)
    assert isinstance(outcome, DocumentRejected) and reason in str(outcome)
    assert seconds < 2


def test_docx_whose_xml_unpacks_past_the_limit_is_rejected_unparsed():
    data = docx_with_body(b"<w:p><w:r><w:t>hello</w:t></w:r></w:p>", padding=b" " * 70 * 2**20)
    assert len(data) < 200 * 1024  # the 50 MB upload limit applies to these bytes
    outcome, _ = outcome_within(5, data)
    assert isinstance(outcome, DocumentRejected)
    assert "XML unpacks to 7" in str(outcome) and "over the 64 MiB limit" in str(outcome)


def test_docx_with_many_real_paragraphs_still_parses():
    paragraph = b"<w:p><w:r><w:t>The staging password rotates every 17 days.</w:t></w:r></w:p>"
    outcome, seconds = outcome_within(10, docx_with_body(paragraph * 20_000))
    assert not isinstance(outcome, DocumentRejected) and outcome.sections[0].text.count("17 days") == 20_000
    assert seconds < 3


def test_pipeline_file_parsing_past_its_time_budget_is_skipped_with_the_reason(tmp_path):
    root = tmp_path / "docs"
    root.mkdir()
    (root / "huge.md").write_text("".join(f"## Part {i}\n\nLine {i}.\n\n" for i in range(10_000)))
    (root / "small.md").write_text("# Small\n\nA short note.\n")
    from ragchat.adapters.local.sqlite_store import SqliteChunkStore

    report = pipeline(SqliteChunkStore(tmp_path / "store.db"), parse_seconds=0.05).sync(FolderSource(root))
    assert dict(report.rejected) == {"huge.md": "parsing took longer than the 0.05 s budget"}
    assert report.failed == [] and report.added == 1


HUGE = "T" * 40_000


@pytest.mark.parametrize("key,data", [
    ("page.html", f"<html><head><title>{HUGE}</title></head><body><h2>{HUGE}</h2><p>Body.</p></body></html>"),
    ("notes.md", f"# {HUGE}\n\n## {HUGE}\n\nBody.\n"),
    ("data.json", json.dumps({"title": HUGE, HUGE: "Body."})),
    ("paper.md", "---\ntitle: " + HUGE + "\n---\n# A\n## B\n### C\n#### D\n##### E\n###### F\n\nBody.\n"),
])
def test_parse_titles_and_heading_paths_are_clipped_whatever_the_format(key, data):
    parsed = parse(data.encode(), SourceObject(key=key, uri=f"file:///{key}", size=len(data)))
    assert len(parsed.title) <= 200
    assert all(len(h) <= 200 for s in parsed.sections for h in s.heading_path)
    assert "Body." in " ".join(s.text for s in parsed.sections)


def test_parse_a_library_exception_is_a_rejection_with_its_reason():
    nested = b"<div>" * 5000 + b"deep" + b"</div>" * 5000  # deeper than the walk's recursion limit
    outcome, _ = outcome_within(10, nested, SourceObject(key="deep.html", uri="file:///deep.html", size=0))
    assert isinstance(outcome, DocumentRejected), outcome
    assert str(outcome).startswith("could not parse the file (RecursionError")
