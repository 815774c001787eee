"""What anyone may spend, checked before any model or embedding call.

Visitors (no account) are limited in messages per minute and per day, each of them and each
source address; everyone in input characters and answer tokens per day; and visitors stop, with
a "come back tomorrow", once the deployment's daily token budget is spent, while signed-in users
keep working. Windows are fixed: a UTC minute, a UTC day.

Tokens are only known once an answer is done: they are added then (`spent`), and the next
message is refused once a counter has reached its limit. So a token limit may be passed by the
answers already running when it is reached, each bounded by the answer limits
(RAGCHAT_MAX_ANSWER_TOKENS, RAGCHAT_TOOL_MAX_TOKENS); message and character limits never are.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ragchat.access import is_visitor
from ragchat.domain import Charge, seconds_left
from ragchat.errors import QuotaExceeded
from ragchat.ports import Quotas

EVERYONE = "tokens:*"  # the deployment's daily token budget

TOO_FAST = "You're sending messages faster than this chat allows. Please wait {wait} and try again."
TODAY_DONE = "You've reached today's limit for this chat. Please come back tomorrow."
BUDGET_DONE = "This chat has answered all it can for today. Please come back tomorrow."


@dataclass(frozen=True)
class QuotaLimits:
    visitor_messages_per_minute: int
    visitor_messages_per_day: int
    address_messages_per_minute: int
    address_messages_per_day: int
    visitor_input_chars_per_day: int
    visitor_tokens_per_day: int
    user_input_chars_per_day: int
    user_tokens_per_day: int
    daily_token_budget: int

    def __post_init__(self):
        bad = [name for name, value in vars(self).items() if not isinstance(value, int) or value < 1]
        if bad:
            raise ValueError(f"quota limits must be whole numbers of at least 1: {', '.join(bad)}")


def _wait(seconds: int) -> str:
    return f"{seconds} second{'s' if seconds != 1 else ''}"


class QuotaPolicy:
    def __init__(self, quotas: Quotas, limits: QuotaLimits, clock: Callable[[], float] = time.time):
        self.quotas = quotas
        self.limits = limits
        self.clock = clock

    def charges(self, user_id: str, address: str | None, message_chars: int) -> list[Charge]:
        """The counters one message adds to, narrowest first."""
        limits = self.limits
        if not is_visitor(user_id):
            return [Charge(f"chars:{user_id}", "day", message_chars, limits.user_input_chars_per_day),
                    Charge(f"tokens:{user_id}", "day", 0, limits.user_tokens_per_day)]
        charges = [Charge(f"messages:{user_id}", "minute", 1, limits.visitor_messages_per_minute),
                   Charge(f"messages:{user_id}", "day", 1, limits.visitor_messages_per_day)]
        if address:
            charges += [Charge(f"messages:address:{address}", "minute", 1, limits.address_messages_per_minute),
                        Charge(f"messages:address:{address}", "day", 1, limits.address_messages_per_day)]
        return [*charges, Charge(f"chars:{user_id}", "day", message_chars, limits.visitor_input_chars_per_day),
                Charge(f"tokens:{user_id}", "day", 0, limits.visitor_tokens_per_day),
                Charge(EVERYONE, "day", 0, limits.daily_token_budget)]

    def admit(self, user_id: str, address: str | None, message_chars: int) -> None:
        """Count one message, or raise QuotaExceeded (nothing counted) with when to come back."""
        now = self.clock()
        refused = self.quotas.take(self.charges(user_id, address, message_chars), now)
        if refused is None:
            return
        wait = seconds_left(refused.window, now)
        if refused.counter == EVERYONE:
            raise QuotaExceeded(BUDGET_DONE, wait)
        if refused.window == "minute":
            raise QuotaExceeded(TOO_FAST.format(wait=_wait(wait)), wait)
        raise QuotaExceeded(TODAY_DONE, wait)

    def spent(self, user_id: str, tokens: int) -> None:
        """What an answer spent, added to the asker's counter and the deployment's."""
        if tokens <= 0:
            return
        now = self.clock()
        self.quotas.add(f"tokens:{user_id}", "day", tokens, now)
        self.quotas.add(EVERYONE, "day", tokens, now)
