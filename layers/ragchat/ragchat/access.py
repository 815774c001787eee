"""Who may see which document.

One rule, the same for every store and entry point: a document whose path is under
`uploads/<user>/` belongs to that user and nobody else sees it; every other document is the
shared library that every signed-in user, and every visitor of a site that embeds the chat, may
read. Visitors see the shared library and nothing else: they have no uploads of their own.
Uploads through the web page land under the uploader's own folder (a presigned key on AWS, the
drop folder locally), so what a user uploads is theirs. Stores apply the rule inside their
searches (`Filters.visible_to`), so a hidden document never reaches ranking, a prompt, or a tool
result.
"""

from __future__ import annotations

import hashlib
import re

from ragchat.domain import Filters

PRIVATE_ROOT = "uploads/"
LOCAL_USER = "local"  # the one user of a local server or the CLI
_USER_ID = re.compile(r"[A-Za-z0-9_\-.@+]{1,128}")  # Cognito subs, usernames, "local" (the whole id: fullmatch)
# Visitors: anyone on a site that embeds the chat, with no account. Their widget keeps a random
# secret; their principal is a hash of it, so the id stored with their sessions (and written to logs)
# cannot be turned back into the secret that reads them. A ':' never occurs in a signed-in user's id.
VISITOR_PREFIX = "visitor:"
_VISITOR_SECRET = re.compile(r"[A-Za-z0-9_-]{22,128}")  # at least 22 base64url characters: 128 random bits
_VISITOR_ID = re.compile(r"visitor:[0-9a-f]{32}")


def check_user_id(user_id: str) -> str:
    """A user id that is safe inside a path prefix (no `/`, no `..`)."""
    if not _USER_ID.fullmatch(user_id or "") or user_id in (".", ".."):
        raise ValueError(f"user id {user_id!r} cannot scope documents")
    return user_id


def visitor_id(secret: str) -> str:
    """The principal of the visitor who holds `secret`; ValueError for a secret too short to be unguessable."""
    if not _VISITOR_SECRET.fullmatch(secret or ""):
        raise ValueError("a visitor id is 22-128 letters, digits, '-' or '_'")
    return VISITOR_PREFIX + hashlib.sha256(f"ragchat-visitor\x1f{secret}".encode()).hexdigest()[:32]


def is_visitor(user_id: str | None) -> bool:
    return bool(user_id) and _VISITOR_ID.fullmatch(user_id) is not None


def check_principal(user_id: str) -> str:
    """A signed-in user's id or a visitor's, either way safe to scope by."""
    return user_id if is_visitor(user_id) else check_user_id(user_id)


def private_prefix(user_id: str) -> str:
    return f"{PRIVATE_ROOT}{check_user_id(user_id)}/"


def owner_of(path: str) -> str | None:
    """The user a document belongs to, or None for the shared library. A file directly in
    `uploads/` (put there by hand, or by an older version's local upload) has no owner folder and
    stays shared, so nothing uploaded earlier disappears."""
    if not path.startswith(PRIVATE_ROOT):
        return None
    owner, _, rest = path[len(PRIVATE_ROOT):].partition("/")
    return owner if rest else None


def is_visible(path: str, user_id: str | None) -> bool:
    """Everything for None (the CLI); the shared library for a visitor; the shared library and
    their own uploads for a signed-in user."""
    if user_id is None:
        return True
    owner = owner_of(path)
    return owner is None or (owner == user_id and not is_visitor(user_id))


def may_delete(path: str, user_id: str, manage_shared: bool) -> bool:
    """Users delete their own uploads; the shared library only where the deployment says the user
    manages it (the single local user does; on AWS it is managed through the bucket)."""
    owner = owner_of(path)
    return owner == user_id if owner is not None else manage_shared


def scoped(filters: Filters | None, user_id: str) -> Filters:
    """The caller's filters narrowed to what the user may see (never widened)."""
    check_principal(user_id)
    if filters is None:
        return Filters(visible_to=user_id)
    if filters.visible_to not in (None, user_id):
        raise ValueError("filters are already scoped to another user")
    return Filters(path_prefix=filters.path_prefix, doc_types=filters.doc_types, doc_ids=filters.doc_ids,
                   visible_to=user_id)
