"""The contract every Quotas adapter passes: counters per window that a take adds to all or none,
never past a limit, however many take at once."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections import Counter

import pytest

from ragchat.access import visitor_id
from ragchat.adapters.local.connections import InMemoryConnections
from ragchat.chat.endpoint import ChatEndpoint
from ragchat.chat.quota import QuotaLimits, QuotaPolicy
from ragchat.domain import Charge, seconds_left, window_start
from tests.fakes import RecordingSink

NOW = 1_800_000_030.0  # 30 s into a minute, 30 s into a day's last minute... any fixed time will do


def message(counter: str, limit: int, window: str = "minute") -> Charge:
    return Charge(counter, window, 1, limit)


class QuotasContract:
    @pytest.fixture
    def quotas(self):
        raise NotImplementedError

    def test_quotas_take_counts_until_the_limit_then_refuses_that_charge(self, quotas):
        charges = [message("a", 3), message("b", 10)]
        assert [quotas.take(charges, NOW) for _ in range(3)] == [None, None, None]
        assert quotas.take(charges, NOW) == charges[0]

    def test_quotas_refused_take_leaves_every_counter_as_it_was(self, quotas):
        wide, narrow = message("wide", 5), message("narrow", 1)
        assert quotas.take([narrow], NOW) is None
        for _ in range(3):
            assert quotas.take([wide, narrow], NOW) == narrow  # wide was counted, then taken back
        assert [quotas.take([wide], NOW) for _ in range(6)] == [None] * 5 + [wide]

    def test_quotas_amounts_over_one_fit_only_whole(self, quotas):
        chars = Charge("chars", "day", 600, 1000)
        assert quotas.take([chars], NOW) is None
        assert quotas.take([chars], NOW) == chars  # 1,200 would pass 1,000
        assert quotas.take([Charge("chars", "day", 400, 1000)], NOW) is None  # exactly 1,000 fits

    def test_quotas_a_check_counts_nothing_and_refuses_at_the_limit(self, quotas):
        check = Charge("tokens", "day", 0, 100)
        assert quotas.take([check], NOW) is None
        quotas.add("tokens", "day", 99, NOW)
        assert quotas.take([check], NOW) is None
        quotas.add("tokens", "day", 1, NOW)
        assert quotas.take([check], NOW) == check

    def test_quotas_add_counts_past_the_limit(self, quotas):
        quotas.add("tokens", "day", 5000, NOW)
        assert quotas.take([Charge("tokens", "day", 0, 100)], NOW) is not None
        assert quotas.take([Charge("tokens", "day", 0, 6000)], NOW) is None

    def test_quotas_each_window_counts_apart(self, quotas):
        minute, day = message("v", 2), message("v", 3, "day")
        assert [quotas.take([minute, day], NOW) for _ in range(3)] == [None, None, minute]
        next_minute = NOW + 60
        assert quotas.take([minute, day], next_minute) is None
        assert quotas.take([minute, day], next_minute) == day  # the day's third, in a fresh minute
        assert quotas.take([minute, day], NOW + 86400) is None  # the next UTC day

    def test_quotas_counters_do_not_share(self, quotas):
        assert quotas.take([message("alice", 1)], NOW) is None
        assert quotas.take([message("bob", 1)], NOW) is None
        assert quotas.take([message("alice", 1)], NOW) is not None

    def test_quotas_concurrent_takes_never_pass_a_limit(self, quotas):
        shared, results, start = message("shared", 25), [], threading.Barrier(10)

        def flood():
            start.wait()
            for _ in range(10):
                results.append(quotas.take([message("own", 1000), shared], NOW))

        threads = [threading.Thread(target=flood) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results.count(None) == 25 and results.count(shared) == 75


# -- the flood: 50 visitors as fast as they can, through the real endpoint and policy ----------------
FLOOD_SECONDS = float(os.environ.get("RAGCHAT_QUOTA_FLOOD_SECONDS", "30"))
VISITORS = 50
ADDRESSES = ("198.51.100.1", "198.51.100.2")  # 25 visitors behind each (a school, an office)
LIMITS = QuotaLimits(visitor_messages_per_minute=5, visitor_messages_per_day=8, address_messages_per_minute=40,
                     address_messages_per_day=10**6, visitor_input_chars_per_day=10**9, visitor_tokens_per_day=10**9,
                     user_input_chars_per_day=10**9, user_tokens_per_day=10**9, daily_token_budget=10**9)


class InstantChat:
    """A FAKE chat service: answers at once with `start` and `end` and spends no tokens, so the flood
    measures the quotas and nothing else."""

    def answer(self, user_id, text, send, session_id=None, request_id=None, filters=None, spent=None):
        send({"type": "start", "requestId": request_id, "sessionId": "s", "messageId": "m"})
        send({"type": "end", "requestId": request_id, "sessionId": "s", "messageId": "m", "citations": []})
        if spent:
            spent(0)


class RecordingClock:
    """time.time, remembering per thread the instant it last gave (the instant a refusal was judged at)."""

    def __init__(self):
        self.local = threading.local()

    def __call__(self) -> float:
        self.local.now = time.time()
        return self.local.now


def _flood(quotas) -> tuple[list[tuple], int]:
    clock = RecordingClock()
    sink = RecordingSink()
    connections = InMemoryConnections()
    endpoint = ChatEndpoint(InstantChat(), sessions=None, connections=connections, sink=sink,
                            quota=QuotaPolicy(quotas, LIMITS, clock))
    visitors = [visitor_id(f"flood-visitor-{n:04d}-{uuid.uuid4().hex}") for n in range(VISITORS)]
    for n, visitor in enumerate(visitors):
        endpoint.connect(f"v{n}", visitor)
    endpoint.connect("owner", "user-owner")
    attempts: list[tuple] = []  # (visitor number, address, instant judged, error frame or None)
    owner_answers = []
    deadline = time.monotonic() + FLOOD_SECONDS
    start = threading.Barrier(VISITORS + 1)

    def visitor(n: int) -> None:
        address, mine = ADDRESSES[n % len(ADDRESSES)], []
        start.wait()
        while time.monotonic() < deadline:
            frames = sink.frames.setdefault(f"v{n}", [])
            before = len(frames)
            endpoint.receive(f"v{n}", json.dumps({"action": "sendMessage", "message": "hi", "requestId": "r"}),
                             address=address)
            (last,) = frames[before:][-1:]
            mine.append((n, address, clock.local.now, last if last["type"] == "error" else None))
        attempts.extend(mine)

    def owner() -> None:
        start.wait()
        while time.monotonic() < deadline:
            endpoint.receive("owner", json.dumps({"action": "sendMessage", "message": "hello", "requestId": "o"}),
                             address=ADDRESSES[0])
            owner_answers.append(sink.frames["owner"][-1])

    threads = [threading.Thread(target=visitor, args=(n,)) for n in range(VISITORS)] + [threading.Thread(target=owner)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return attempts, owner_answers


class QuotasFloodContract:
    """50 visitors behind two addresses send as fast as they can for FLOOD_SECONDS (30 s), beside the
    owner, through the real ChatEndpoint and QuotaPolicy over the adapter."""

    def test_quotas_flood_accepts_exactly_the_limits_and_refuses_the_rest_kindly(self, quotas):
        attempts, owner_answers = _flood(quotas)
        accepted = [a for a in attempts if a[3] is None]
        refused = [a for a in attempts if a[3] is not None]
        assert {n for n, _, _, frame in refused} == set(range(VISITORS)), "every visitor must meet a limit"

        per_visitor_minute = Counter((n, window_start("minute", t)) for n, _, t, _ in accepted)
        per_visitor_day = Counter((n, window_start("day", t)) for n, _, t, _ in accepted)
        per_address_minute = Counter((a, window_start("minute", t)) for _, a, t, _ in accepted)
        assert max(per_visitor_minute.values()) <= LIMITS.visitor_messages_per_minute  # never one over
        assert max(per_visitor_day.values()) <= LIMITS.visitor_messages_per_day
        assert max(per_address_minute.values()) <= LIMITS.address_messages_per_minute

        for n, address, t, frame in refused:
            assert frame["code"] == "quota_exceeded" and frame["requestId"] == "r"
            if "faster" in frame["message"]:  # a minute's limit: the visitor's or the address's, exactly full
                assert frame["retryAfter"] == seconds_left("minute", t)
                minute = window_start("minute", t)
                assert (per_visitor_minute[(n, minute)] == LIMITS.visitor_messages_per_minute
                        or per_address_minute[(address, minute)] == LIMITS.address_messages_per_minute)
            else:
                assert frame["message"].endswith("come back tomorrow.")
                assert frame["retryAfter"] == seconds_left("day", t)
                assert per_visitor_day[(n, window_start("day", t))] == LIMITS.visitor_messages_per_day
        assert owner_answers and all(f["type"] == "end" for f in owner_answers)  # the owner is unaffected
        print(f"\nflood over {FLOOD_SECONDS:.0f} s: {len(attempts)} visitor messages, {len(accepted)} accepted, "
              f"{len(refused)} refused; the owner's {len(owner_answers)} all answered")
