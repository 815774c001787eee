"""Where a write stands among the writes of its key.

S3 gives every event on a key a `sequencer`: hex of varying length, to be compared after padding
the shorter with zeros on the right ("Event message structure" in the S3 user guide). An order is
that sequencer padded to a fixed width, so plain string comparison (in Python, SQL or a DynamoDB
condition) orders writes of one key. An empty order means "unknown": such writes are applied as
they come, the last one winning.
"""

from __future__ import annotations

import re

WIDTH = 40  # sequencers seen are 16-20 hex digits; the width leaves room
_HEX = re.compile(r"[0-9A-Fa-f]{1,40}")


def order_of(sequencer: str | None) -> str:
    """The order of an S3 event's sequencer ("" when the event has none)."""
    if not sequencer:
        return ""
    if not _HEX.fullmatch(sequencer):
        raise ValueError(f"not an S3 sequencer: {sequencer!r}")
    return sequencer.upper().ljust(WIDTH, "0")


def supersedes(new: str, stored: str | None) -> bool:
    """Whether a write of order `new` may replace what a write of order `stored` left. Unordered
    writes always may; an ordered write only over an older one (never over its own redelivery)."""
    return not new or stored is None or new > stored


def recorded_order(status: str, new: str, stored: str | None) -> str:
    """The order a status leaves behind. A failure a retry may fix marks the attempt but does not
    claim its order: the retry of that very version must still be able to land."""
    return (stored or "") if status == "failed" else new
