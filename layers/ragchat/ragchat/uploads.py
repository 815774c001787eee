"""What key an uploaded file gets: a safe name in the uploader's own folder (ragchat/access.py).

A name is NFKC-normalised and keeps letters, marks and digits of every script; anything else
(separators, controls, punctuation beyond `._- `) becomes `_`. Where that changed the name, or the
name had to be shortened, a short hash of the name as given is added, so two different names never
land on the same key. A name needs a stem and one of the supported extensions.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import PurePosixPath

from ragchat.access import private_prefix
from ragchat.errors import UnsupportedUpload
from ragchat.ingest.parsers import SUPPORTED_EXTENSIONS
from ragchat.text import clip_utf8

MAX_NAME_BYTES = 200  # UTF-8 bytes of the name; with uploads/<user>/ far below S3's 1,024-byte keys
_KEPT_PUNCTUATION = frozenset("._- ")
_RUNS = re.compile(r"_{2,}| {2,}")
HASH_CHARS = 8


def _kept(char: str) -> str:
    return char if char in _KEPT_PUNCTUATION or unicodedata.category(char)[0] in "LMN" else "_"


def safe_name(filename: str) -> str:
    """The file's own name (no folders), normalised, capped, with a supported extension."""
    name = unicodedata.normalize("NFKC", PurePosixPath((filename or "").replace("\\", "/")).name)
    stem, dot, extension = name.rpartition(".")
    if not dot or extension.lower() not in SUPPORTED_EXTENSIONS:
        raise UnsupportedUpload(f"unsupported file type; supported: {', '.join(sorted(SUPPORTED_EXTENSIONS))}")
    cleaned = _RUNS.sub(lambda run: run.group(0)[0], "".join(_kept(c) for c in stem)).strip(" ._-")
    if not cleaned:
        raise UnsupportedUpload(f"the file needs a name before .{extension}")
    room = MAX_NAME_BYTES - len(extension.encode("utf-8")) - 1
    if cleaned != stem or len(cleaned.encode("utf-8")) > room:
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:HASH_CHARS]
        cleaned = f"{clip_utf8(cleaned, room - HASH_CHARS - 1).rstrip(' ._-')}-{digest}"
    return f"{cleaned}.{extension}"


def upload_key(filename: str, user_id: str) -> str:
    return private_prefix(user_id) + safe_name(filename)
