"""Markdown: sections follow the heading tree; inline markup is reduced to its text."""

from __future__ import annotations

import re

from ragchat.domain import ParsedDocument, Section, SourceObject

from .common import decode_text, fallback_title

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n(?:---|\.\.\.)\s*(?:\n|\Z)", re.S)
_FM_TITLE = re.compile(r"^title:\s*['\"]?(.+?)['\"]?\s*$", re.M)
_md = None


def _parser():
    global _md
    if _md is None:
        from markdown_it import MarkdownIt

        _md = MarkdownIt("commonmark").enable("table")
    return _md


def _inline_text(token) -> str:
    parts: list[str] = []
    for child in token.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" " if child.type == "softbreak" else "\n")
        elif child.type == "image":
            parts.append(child.content)
    return re.sub(r"[ \t]{2,}", " ", "".join(parts)).strip()


def _html_text(fragment: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(fragment, "html.parser")
    for tag in soup(["script", "style", "template"]):
        tag.decompose()
    return " ".join(soup.get_text(" ").split())


def parse(data: bytes, obj: SourceObject) -> ParsedDocument:
    text = decode_text(data)
    front_title = None
    if match := _FRONT_MATTER.match(text):
        if title_match := _FM_TITLE.search(match.group(1)):
            front_title = title_match.group(1)
        text = text[match.end():]

    sections: list[Section] = []
    headings: list[tuple[int, str]] = []  # (level, text) of the open headings
    blocks: list[str] = []
    row: list[str] = []
    first_h1 = None

    def flush() -> None:
        body = "\n\n".join(b for b in blocks if b)
        if body.strip():
            sections.append(Section(text=body, heading_path=tuple(h for _, h in headings)))
        blocks.clear()

    tokens = _parser().parse(text)
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.type == "heading_open":
            level = int(tok.tag[1])
            heading = _inline_text(tokens[i + 1])
            flush()
            while headings and headings[-1][0] >= level:
                headings.pop()
            headings.append((level, heading))
            if level == 1 and first_h1 is None:
                first_h1 = heading
            i += 3
            continue
        if tok.type == "inline":
            content = _inline_text(tok)
            if tok.level and tokens[i - 1].type in ("th_open", "td_open"):
                row.append(content)
            elif content:
                blocks.append(content)
        elif tok.type == "tr_close":
            if any(row):
                blocks.append(" | ".join(row))
            row = []
        elif tok.type in ("fence", "code_block"):
            if tok.content.strip():
                blocks.append(tok.content.rstrip())
        elif tok.type == "html_block":  # raw HTML in Markdown: keep its visible text only
            visible = _html_text(tok.content)
            if visible:
                blocks.append(visible)
        i += 1
    flush()

    title = front_title or first_h1 or fallback_title(obj)
    if obj.title:
        title = obj.title
    return ParsedDocument(title=title, sections=tuple(sections), doc_type="markdown")
