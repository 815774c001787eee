import pytest

from ragchat.domain import SourceObject
from ragchat.errors import CorruptDocument, EmptyDocument, UnsupportedFormat
from ragchat.ingest.parsers import parse
from tests.documents import make_docx, make_pdf


def obj(key: str, media_type: str | None = None, title: str | None = None, url: str = "") -> SourceObject:
    return SourceObject(key=key, uri=f"file:///docs/{key}", size=0, media_type=media_type, title=title, url=url)


def test_markdown_sections_follow_heading_tree():
    text = b"# Guide\n\nIntro.\n\n## Install\n\nRun **pip**.\n\n### Linux\n\nUse apt.\n\n## Use\n\nSee [docs](http://x).\n"
    parsed = parse(text, obj("guide.md"))
    assert parsed.title == "Guide"
    assert [(s.heading_path, s.text) for s in parsed.sections] == [
        (("Guide",), "Intro."),
        (("Guide", "Install"), "Run pip."),
        (("Guide", "Install", "Linux"), "Use apt."),
        (("Guide", "Use"), "See docs."),
    ]


def test_markdown_front_matter_title_wins_and_is_not_indexed():
    parsed = parse(b"---\ntitle: 'Runbook'\nowner: ops\n---\nBody text.\n", obj("r.md"))
    assert parsed.title == "Runbook"
    assert "owner" not in parsed.sections[0].text


def test_markdown_keeps_code_and_tables():
    text = b"# T\n\n```sh\nsam deploy --guided\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    body = parse(text, obj("t.md")).sections[0].text
    assert "sam deploy --guided" in body
    assert "1 | 2" in body


def test_markdown_inline_and_block_html_keeps_only_visible_text():
    text = (b'# Runbook <a id="top"></a>\n\n<div align="center"><img alt="logo" src="x.png"> <b>Status</b></div>'
            b"\n\nPage <br> on-call.\n")
    parsed = parse(text, obj("r.md"))
    assert parsed.title == "Runbook"
    assert parsed.sections[0].text == "Status\n\nPage on-call."


def test_markdown_without_heading_takes_title_from_file_name():
    assert parse(b"just text", obj("notes/meeting-2024.md")).title == "meeting-2024"


def test_html_drops_scripts_and_styles_and_follows_headings():
    html = b"""<html><head><title>Ops</title><style>p{color:red}</style></head><body>
    <h1>Runbook</h1><p>Restart the <b>service</b>.</p><script>alert('x')</script>
    <h2>Escalation</h2><ul><li>Page on-call</li><li>Open a ticket</li></ul></body></html>"""
    parsed = parse(html, obj("ops.html"))
    assert parsed.title == "Ops"
    texts = {s.heading_path: s.text for s in parsed.sections}
    assert texts[("Runbook",)] == "Restart the service."
    assert "Page on-call" in texts[("Runbook", "Escalation")]
    assert not any("alert" in s.text or "color" in s.text for s in parsed.sections)


def test_pdf_sections_carry_page_numbers():
    data = make_pdf(["First page about networking.", "Second page about storage."], title="Infra report")
    parsed = parse(data, obj("report.pdf"))
    assert parsed.title == "Infra report"
    assert [(s.page, "networking" in s.text, "storage" in s.text) for s in parsed.sections] == [
        (1, True, False), (2, False, True)]


def test_docx_headings_paragraphs_and_tables():
    data = make_docx([("Title", "Design"), ("Heading 1", "Storage"), ("Normal", "We use S3."),
                      ("Heading 2", "Costs"), ("Normal", "Cheap.")], table=[["item", "cost"], ["bucket", "1"]])
    parsed = parse(data, obj("design.docx"))
    assert parsed.title == "Design"
    texts = {s.heading_path: s.text for s in parsed.sections}
    assert texts[("Design", "Storage")] == "We use S3."
    assert texts[("Design", "Storage", "Costs")].startswith("Cheap.")
    assert "bucket | 1" in texts[("Design", "Storage", "Costs")]


def test_csv_rows_become_field_value_lines_with_row_ranges():
    parsed = parse(b"name,owner\napi,alice\nweb,bob\n", obj("services.csv"))
    assert parsed.sections[0].heading_path == ("Rows 1-2",)
    assert parsed.sections[0].text == "name: api; owner: alice\n\nname: web; owner: bob"


def test_json_object_sections_by_top_level_key():
    parsed = parse(b'{"title": "Inventory", "hosts": [{"name": "db1", "tags": ["prod", "eu"]}]}', obj("inv.json"))
    assert parsed.title == "Inventory"
    assert ("hosts",) in {s.heading_path for s in parsed.sections}
    assert "hosts[0].tags: prod, eu" in parsed.sections[-1].text


def test_jsonl_records():
    parsed = parse(b'{"q": "a"}\n{"q": "b"}\n', obj("log.jsonl"))
    assert parsed.sections[0].text == "q: a\n\nq: b"


def test_plain_text_in_latin1_is_decoded():
    text = "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e recipe with sugar and cream"
    parsed = parse(text.encode("latin-1"), obj("menu.txt"))
    assert "Café" in parsed.sections[0].text


def test_media_type_overrides_extension_and_source_title_wins():
    parsed = parse(b"Some abstract.", obj("12345", media_type="text/plain", title="A paper"))
    assert parsed.title == "A paper"


@pytest.mark.parametrize("key,data,error,reason", [
    ("empty.md", b"", EmptyDocument, "empty file"),
    ("blank.txt", b"  \n\n \t", EmptyDocument, "empty file"),
    ("only-heading.md", b"# Title only\n", EmptyDocument, "no text"),
    ("broken.pdf", b"%PDF-1.4\nthis is not really a pdf", CorruptDocument, "unreadable PDF"),
    ("broken.docx", b"PK\x03\x04 not a zip", CorruptDocument, "unreadable DOCX"),
    ("broken.json", b'{"a": ', CorruptDocument, "invalid JSON"),
    ("broken.jsonl", b'{"a": 1}\n{oops\n', CorruptDocument, "line 2"),
    ("binary.txt", b"abc\x00\x01\x02def", CorruptDocument, "binary"),
    ("image.png", b"\x89PNG....", UnsupportedFormat, ".png"),
    ("Makefile", b"all:\n\techo", UnsupportedFormat, "without an extension"),
])
def test_bad_files_are_rejected_with_a_reason(key, data, error, reason):
    with pytest.raises(error, match=reason):
        parse(data, obj(key))


def test_truncated_pdf_is_corrupt_not_a_crash():
    data = make_pdf(["Some text on a page."])
    with pytest.raises(CorruptDocument):
        parse(data[: len(data) // 3], obj("cut.pdf"))


def test_markdown_front_matter_url_is_the_public_address():
    parsed = parse(b"---\ntitle: Pricing\nurl: https://example.com/pricing\n---\nPlans start at 9 euros.\n",
                   obj("pricing.md"))
    assert parsed.url == "https://example.com/pricing" and "example.com" not in parsed.sections[0].text


def test_html_canonical_link_is_the_public_address():
    page = (b'<html><head><title>Team</title><link rel="canonical" href="https://example.com/team/"></head>'
            b"<body><p>We are five.</p></body></html>")
    assert parse(page, obj("team.html")).url == "https://example.com/team/"


def test_source_metadata_url_wins_over_the_documents_own():
    text = b"---\nurl: https://example.com/old\n---\nBody.\n"
    assert parse(text, obj("a.md", url="https://example.com/new")).url == "https://example.com/new"
    assert parse(b"Plain body.", obj("a.txt", url="https://example.com/a")).url == "https://example.com/a"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "/relative/path", "https://user:pw@x.com/",
                                 "https://exa mple.com/", "ftp://example.com/f", "https://", "http://x.com/\x7f",
                                 "https://example.com/" + "a" * 2001])
def test_a_url_citations_may_not_link_to_is_dropped(url):
    text = f"---\nurl: {url}\n---\nBody.\n".encode()
    assert parse(text, obj("a.md")).url == ""
    assert parse(b"Body.", obj("a.txt", url=url)).url == ""
