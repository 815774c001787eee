"""The web origins visitors may connect from (RAGCHAT_ALLOWED_ORIGINS), as browsers send them in
the `Origin` header: scheme, host and port, lower case, no path."""

from __future__ import annotations

import re

_ORIGIN = re.compile(r"https?://(?:[a-z0-9.\-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?")


def parse_origins(raw: str) -> frozenset[str]:
    """Origins separated by commas or spaces; ValueError names any that is not an http(s) origin."""
    origins = [o.strip().rstrip("/").lower() for o in re.split(r"[\s,]+", raw.strip()) if o.strip()]
    bad = [o for o in origins if not _ORIGIN.fullmatch(o)]
    if bad:
        raise ValueError(f"{', '.join(bad)} is not an origin like https://example.com (no path, no wildcard)")
    return frozenset(origins)


def origin_allowed(origin: str | None, allowed: frozenset[str]) -> bool:
    return bool(origin) and origin.strip().lower() in allowed
