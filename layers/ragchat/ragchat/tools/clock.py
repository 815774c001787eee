"""The current date and time, in UTC or a named time zone: models do not know what day it is."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from ragchat.domain import ToolContext, ToolOutput
from ragchat.tools.registry import ToolFailed


class CurrentTime:
    name = "current_time"
    description = ("The current date and time (ISO 8601, with weekday), in UTC or in an IANA time zone "
                   "such as 'Europe/Berlin'. Use it for questions about today, ages, or time spans.")
    input_schema = {
        "type": "object",
        "properties": {"timezone": {"type": "string", "pattern": "^[A-Za-z0-9_+\\-/]{1,64}$",
                                    "description": "An IANA time zone name; UTC when left out."}},
        "additionalProperties": False,
    }

    def __init__(self, now: Callable[[], float] = time.time):
        self.now = now

    def announce(self, args: dict) -> str:
        return f"Checking the time{' in ' + args['timezone'] if args.get('timezone') else ''}"

    def run(self, args: dict, context: ToolContext) -> ToolOutput:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        name = args.get("timezone") or "UTC"
        try:
            zone = UTC if name.upper() == "UTC" else ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ToolFailed(f"unknown time zone {name!r}; use an IANA name like 'America/New_York'") from exc
        moment = datetime.fromtimestamp(self.now(), zone)
        stamp = moment.isoformat(timespec="seconds")
        return ToolOutput(f"{stamp} ({moment.strftime('%A')}, {name})", stamp)
