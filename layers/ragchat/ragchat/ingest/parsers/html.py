"""HTML: visible text only (no scripts, styles or templates), sections follow h1-h6."""

from __future__ import annotations

from ragchat.domain import ParsedDocument, Section, SourceObject
from ragchat.text import normalise_whitespace

from .common import decode_text, fallback_title
from .limits import UNLIMITED, ParseBudget

_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_SKIP = {"script", "style", "noscript", "template", "head", "svg", "iframe", "object", "button", "select"}
_BLOCKS = {
    "p", "div", "section", "article", "main", "header", "footer", "aside", "li", "ul", "ol",
    "pre", "blockquote", "table", "tr", "td", "th", "dl", "dt", "dd", "figure", "figcaption",
    "caption", "form", "fieldset", "details", "summary", "address", "nav",
}


def parse(data: bytes, obj: SourceObject, budget: ParseBudget = UNLIMITED) -> ParsedDocument:
    from bs4 import BeautifulSoup, Comment, Declaration, Doctype, ProcessingInstruction

    soup = BeautifulSoup(decode_text(data), "html.parser")
    ignored_strings = (Comment, Declaration, Doctype, ProcessingInstruction)
    sections: list[Section] = []
    headings: list[tuple[int, str]] = []
    buffer: list[str] = []
    first_h1 = None

    def flush() -> None:
        body = normalise_whitespace("".join(buffer))
        if body:
            sections.append(Section(text=body, heading_path=tuple(h for _, h in headings)))
        buffer.clear()

    def walk(node) -> None:
        nonlocal first_h1
        for child in node.children:
            budget.check()
            name = getattr(child, "name", None)
            if name is None:
                if not isinstance(child, ignored_strings):
                    buffer.append(str(child).replace("\n", " "))
            elif name in _SKIP:
                continue
            elif name in _HEADINGS:
                flush()
                level = _HEADINGS[name]
                text = " ".join(child.get_text(" ").split())
                while headings and headings[-1][0] >= level:
                    headings.pop()
                headings.append((level, text))
                if level == 1 and first_h1 is None:
                    first_h1 = text
            elif name == "br":
                buffer.append("\n")
            else:
                block = name in _BLOCKS
                if block:
                    buffer.append("\n\n")
                walk(child)
                if block:
                    buffer.append("\n\n")

    walk(soup.body or soup)
    flush()
    title_tag = soup.title.get_text(" ", strip=True) if soup.title else ""
    title = obj.title or title_tag or first_h1 or fallback_title(obj)
    canonical = soup.find("link", rel="canonical", href=True)
    url = canonical["href"] if canonical and isinstance(canonical["href"], str) else ""
    return ParsedDocument(title=title, sections=tuple(sections), doc_type="html", url=url)
