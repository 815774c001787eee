"""Markdown: sections follow the heading tree; inline markup is reduced to its text."""

from __future__ import annotations

import re
from functools import lru_cache

from ragchat.domain import ParsedDocument, Section, SourceObject

from .common import decode_text, fallback_title
from .limits import UNLIMITED, ParseBudget

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n(?:---|\.\.\.)\s*(?:\n|\Z)", re.S)
_FM_TITLE = re.compile(r"^title:\s*['\"]?(.+?)['\"]?\s*$", re.M)
_FM_URL = re.compile(r"^(?:url|canonical_url):\s*['\"]?(\S+?)['\"]?\s*$", re.M)


@lru_cache(maxsize=1)
def _parser():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table")


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


def _front_matter(text: str) -> tuple[str | None, str, str]:
    """The front matter's title and url, if any, and the text after the front matter."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return None, "", text
    title, url = _FM_TITLE.search(match.group(1)), _FM_URL.search(match.group(1))
    return (title.group(1) if title else None), (url.group(1) if url else ""), text[match.end():]


class _Sections:
    """Blocks of text collected under the heading path that is open when they appear."""

    def __init__(self):
        self.sections: list[Section] = []
        self.headings: list[tuple[int, str]] = []  # (level, text) of the open headings
        self.blocks: list[str] = []
        self.row: list[str] = []
        self.first_h1: str | None = None

    def flush(self) -> None:
        body = "\n\n".join(b for b in self.blocks if b)
        if body.strip():
            self.sections.append(Section(text=body, heading_path=tuple(h for _, h in self.headings)))
        self.blocks.clear()

    def heading(self, level: int, text: str) -> None:
        self.flush()
        while self.headings and self.headings[-1][0] >= level:
            self.headings.pop()
        self.headings.append((level, text))
        if level == 1 and self.first_h1 is None:
            self.first_h1 = text

    def token(self, tok, previous) -> None:
        """One block-level token that is not a heading."""
        if tok.type == "inline":
            content = _inline_text(tok)
            if tok.level and previous.type in ("th_open", "td_open"):
                self.row.append(content)
            elif content:
                self.blocks.append(content)
        elif tok.type == "tr_close":
            if any(self.row):
                self.blocks.append(" | ".join(self.row))
            self.row = []
        elif tok.type in ("fence", "code_block"):
            if tok.content.strip():
                self.blocks.append(tok.content.rstrip())
        elif tok.type == "html_block":  # raw HTML in Markdown: keep its visible text only
            visible = _html_text(tok.content)
            if visible:
                self.blocks.append(visible)


def parse(data: bytes, obj: SourceObject, budget: ParseBudget = UNLIMITED) -> ParsedDocument:
    front_title, url, text = _front_matter(decode_text(data))
    collected = _Sections()
    tokens = _parser().parse(text)
    i = 0
    while i < len(tokens):
        budget.check()
        tok = tokens[i]
        if tok.type == "heading_open":  # heading_open, inline, heading_close
            collected.heading(int(tok.tag[1]), _inline_text(tokens[i + 1]))
            i += 3
            continue
        collected.token(tok, tokens[i - 1])
        i += 1
    collected.flush()
    title = obj.title or front_title or collected.first_h1 or fallback_title(obj)
    return ParsedDocument(title=title, sections=tuple(collected.sections), doc_type="markdown", url=url)
