"""The quota policy over the real SQLite counters: what visitors and signed-in users may spend, the
refusals they get, and that a refusal comes before any embedding or model call."""

import json
from dataclasses import replace

import pytest

from ragchat.access import visitor_id
from ragchat.adapters.local.connections import InMemoryConnections
from ragchat.adapters.local.quotas import SqliteQuotas
from ragchat.adapters.local.sessions import SqliteSessionStore
from ragchat.adapters.local.sqlite_store import SqliteChunkStore
from ragchat.chat.endpoint import ChatEndpoint
from ragchat.chat.quota import BUDGET_DONE, TODAY_DONE, QuotaLimits, QuotaPolicy
from ragchat.errors import QuotaExceeded
from tests.contract.chunk_store_contract import EMBEDDER, put, record
from tests.fakes import FakeHashingEmbedder, RecordingSink, ScriptedGenerator
from tests.support.aws import FakeClock
from tests.support.chat import chat_service, retriever_over

LIMITS = QuotaLimits(visitor_messages_per_minute=2, visitor_messages_per_day=3, address_messages_per_minute=5,
                     address_messages_per_day=100, visitor_input_chars_per_day=100, visitor_tokens_per_day=1000,
                     user_input_chars_per_day=10_000, user_tokens_per_day=5000, daily_token_budget=2000)
VISITOR = visitor_id("a-visitor-secret-of-enough-length")
OTHER = visitor_id("another-visitor-secret-of-enough-length")


@pytest.fixture
def policy(tmp_path):
    clock = FakeClock(1_800_000_020.0)  # 20 s into a UTC minute
    return QuotaPolicy(SqliteQuotas(tmp_path / "quotas.db"), LIMITS, clock), clock


def test_quota_visitor_past_the_minutes_limit_waits_for_the_next_minute(policy):
    policy, clock = policy
    policy.admit(VISITOR, "203.0.113.5", 10)
    policy.admit(VISITOR, "203.0.113.5", 10)
    with pytest.raises(QuotaExceeded) as refused:
        policy.admit(VISITOR, "203.0.113.5", 10)
    assert refused.value.retry_after == 60 - int(clock.now) % 60
    assert "faster than this chat allows" in str(refused.value)
    policy.admit(OTHER, "203.0.113.6", 10)  # another visitor, another address: unaffected
    clock.advance(refused.value.retry_after)
    policy.admit(VISITOR, "203.0.113.5", 10)
    clock.advance(60)
    with pytest.raises(QuotaExceeded) as today:  # the day's third was the last
        policy.admit(VISITOR, "203.0.113.5", 10)
    assert str(today.value) == TODAY_DONE and today.value.retry_after == 86400 - int(clock.now) % 86400


def test_quota_one_address_is_limited_whoever_sends_from_it(policy):
    policy, _ = policy
    for n in range(5):
        policy.admit(visitor_id(f"visitor-number-{n}-of-one-school-network"), "198.51.100.7", 5)
    with pytest.raises(QuotaExceeded):
        policy.admit(visitor_id("visitor-number-5-of-one-school-network"), "198.51.100.7", 5)
    policy.admit(visitor_id("visitor-number-5-of-one-school-network"), "198.51.100.8", 5)


def test_quota_input_characters_refuse_a_message_that_does_not_fit_whole(policy):
    policy, _ = policy
    policy.admit(VISITOR, None, 60)
    with pytest.raises(QuotaExceeded):
        policy.admit(VISITOR, None, 41)
    policy.admit(VISITOR, None, 40)  # the refused 41 were not counted


def test_quota_after_the_daily_budget_visitors_come_back_tomorrow_and_owners_keep_working(policy):
    policy, clock = policy
    policy.spent("user-owner", 1500)
    policy.spent(VISITOR, 600)  # 2,100 of the 2,000 budget
    with pytest.raises(QuotaExceeded) as refused:
        policy.admit(OTHER, None, 10)
    assert str(refused.value) == BUDGET_DONE and refused.value.retry_after == 86400 - int(clock.now) % 86400
    policy.admit("user-owner", None, 10)
    clock.advance(86400)
    policy.admit(OTHER, None, 10)  # a new day, a new budget


def test_quota_identity_tokens_per_day(policy):
    policy, _ = policy
    policy.spent("user-owner", 5000)
    with pytest.raises(QuotaExceeded):
        policy.admit("user-owner", None, 10)
    policy.admit("user-other", None, 10)


@pytest.mark.parametrize("bad", [0, -1, 2.5])
def test_quota_limits_must_be_whole_and_positive(bad):
    with pytest.raises(ValueError, match="visitor_messages_per_day"):
        replace(LIMITS, visitor_messages_per_day=bad)


class CountingEmbedder(FakeHashingEmbedder):
    """A FAKE embedder that counts the queries it embedded."""

    def __init__(self):
        super().__init__(dimension=EMBEDDER.dimension, model_id=EMBEDDER.model_id)
        self.queries = 0

    def embed_query(self, text):
        self.queries += 1
        return super().embed_query(text)


@pytest.fixture
def endpoint(tmp_path, policy):
    policy, _ = policy
    store = SqliteChunkStore(tmp_path / "store.db")
    store.ensure_embedding_space(EMBEDDER.model_id, EMBEDDER.dimension)
    put(store, record("d1", "deploy.md"), "deploy the stack with sam deploy guided")
    sessions = SqliteSessionStore(tmp_path / "sessions.db")
    embedder, model = CountingEmbedder(), ScriptedGenerator(["Deploy with SAM [1]."])
    chat = chat_service(retriever_over(store, embedder), model, sessions)
    endpoint = ChatEndpoint(chat, sessions, InMemoryConnections(), RecordingSink(), quota=policy)
    endpoint.connect("c1", VISITOR)
    return endpoint, embedder, model, policy


def ask(endpoint, message="How do I deploy the stack?"):
    endpoint.receive("c1", json.dumps({"action": "sendMessage", "message": message, "requestId": "q"}),
                     address="203.0.113.5")
    return endpoint.sink.frames["c1"][-1]


def test_endpoint_refusal_is_a_quota_exceeded_frame_before_any_embedding_or_model_call(endpoint):
    endpoint, embedder, model, _ = endpoint
    assert ask(endpoint)["type"] == "end" and ask(endpoint)["type"] == "end"
    calls = (embedder.queries, len(model.requests))
    refused = ask(endpoint)
    assert refused == {"type": "error", "code": "quota_exceeded", "requestId": "q", "retryAfter": 40,
                       "message": "You're sending messages faster than this chat allows. Please wait 40 seconds "
                                  "and try again."}
    assert (embedder.queries, len(model.requests)) == calls


def test_endpoint_counts_the_tokens_an_answer_spent(endpoint):
    endpoint, _, _, policy = endpoint
    ask(endpoint)
    spent_by_visitor = policy.quotas._conn().execute(
        "SELECT value FROM counters WHERE counter = ?", (f"tokens:{VISITOR}",)).fetchone()[0]
    budget = policy.quotas._conn().execute("SELECT value FROM counters WHERE counter = 'tokens:*'").fetchone()[0]
    assert spent_by_visitor == budget > 3  # the model's 3 output tokens and its estimated input
