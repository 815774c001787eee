"""What key an uploaded file gets: a safe name in the uploader's own folder (ragchat/access.py)."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from ragchat.access import private_prefix
from ragchat.errors import UnsupportedUpload
from ragchat.ingest.parsers import SUPPORTED_EXTENSIONS

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_name(filename: str) -> str:
    """The file's own name (no folders), with characters outside a small safe set replaced."""
    name = _UNSAFE.sub("_", PurePosixPath((filename or "").replace("\\", "/")).name).strip(" .")
    if not name or name.rsplit(".", 1)[-1].lower() not in SUPPORTED_EXTENSIONS:
        raise UnsupportedUpload(f"unsupported file type; supported: {', '.join(sorted(SUPPORTED_EXTENSIONS))}")
    return name


def upload_key(filename: str, user_id: str) -> str:
    return private_prefix(user_id) + safe_name(filename)
