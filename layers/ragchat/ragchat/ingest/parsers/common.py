"""Helpers every parser uses: decoding bytes to text and picking a title."""

from __future__ import annotations

from ragchat.domain import SourceObject
from ragchat.errors import CorruptDocument


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM) first, then a detected encoding; binary data is refused."""
    if b"\x00" in data[:8192]:
        raise CorruptDocument("binary content in a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise CorruptDocument("text is not in a recognisable encoding")
    return str(best)


def fallback_title(obj: SourceObject) -> str:
    if obj.title:
        return obj.title
    name = obj.key.rstrip("/").rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name


MAX_URL_CHARS = 2000


def public_url(raw: str | None) -> str:
    """A document's public address, if it is one a citation may link to: an absolute http(s) URL
    with a host, no credentials, no spaces or control characters; anything else is dropped ("")."""
    from urllib.parse import urlsplit

    url = (raw or "").strip()
    if not url or len(url) > MAX_URL_CHARS or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return ""
    return url
