"""Hypothesis settings for the fuzz tests: bounded so the default run stays fast, scaled up for a
long run with RAGCHAT_FUZZ_SCALE (benchmarks/fuzz.py)."""

from __future__ import annotations

import json
import os
from collections import Counter

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from ragchat.chat.protocol import ACTIONS

SCALE = max(1, int(os.environ.get("RAGCHAT_FUZZ_SCALE", "1")))
tally: Counter = Counter()  # inputs fuzzed per kind in this session, shown in the test summary


def fuzzing(examples: int, deadline_ms: int | None) -> settings:
    """`examples` runs (times the scale); `deadline_ms`: no example may take longer."""
    return settings(max_examples=examples * SCALE, deadline=deadline_ms, derandomize=SCALE == 1,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


# JSON values of any shape, small enough to stay fast, with the odd deep or wide one.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=30)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def as_json(value) -> str:
    return json.dumps(value, ensure_ascii=False)


_ids = st.one_of(st.none(), st.text(max_size=140), st.from_regex(r"[A-Za-z0-9_\-:.]{1,128}", fullmatch=True),
                 json_values)
# What a client may send: any text, broken UTF-8, any JSON, deep nesting, frames shaped like the protocol's.
client_frames = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300).map(lambda b: b.decode("utf-8", errors="replace")),
    json_values.map(as_json),
    st.integers(1, 16_000).map(nested),  # up to the frame limit: deeper than any decoder recursion
    st.fixed_dictionaries({"action": st.sampled_from(ACTIONS) | json_values}, optional={
        "message": st.text(max_size=5000) | json_values, "sessionId": _ids, "requestId": _ids,
        "extra": json_values}).map(as_json),
)
