"""Client frames fuzzed (Hypothesis) into the real ChatEndpoint: whatever a client sends, it gets
well-formed frames back within its budget, never an internal error, and the connection goes on."""

import json
import time

import pytest
from hypothesis import given

from ragchat.adapters.local.connections import InMemoryConnections
from ragchat.adapters.local.sessions import SqliteSessionStore
from ragchat.adapters.local.sqlite_store import SqliteChunkStore
from ragchat.chat.endpoint import ChatEndpoint
from ragchat.chat.protocol import MAX_SERVER_FRAME_BYTES
from tests.contract.chunk_store_contract import EMBEDDER, put, record
from tests.fakes import RecordingSink, ScriptedGenerator
from tests.support.chat import chat_service, retriever_over
from tests.support.fuzz import client_frames, fuzzing, tally

ERROR_CODES = {"bad_json", "bad_request", "unknown_action", "message_too_large", "busy", "session_not_found",
               "generation_failed", "unauthenticated"}  # never internal_error
BUDGET_MS = 2000


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz")
    store = SqliteChunkStore(path / "store.db")
    store.ensure_embedding_space(EMBEDDER.model_id, EMBEDDER.dimension)
    put(store, record("d1", "deploy.md", title="<b>Deploy</b> " * 10), "deploy the stack with sam deploy guided")
    sessions = SqliteSessionStore(path / "sessions.db")
    chat = chat_service(retriever_over(store, EMBEDDER), ScriptedGenerator(["Deploy [1] <img src=x>."]), sessions)
    endpoint = ChatEndpoint(chat, sessions, InMemoryConnections(), RecordingSink())
    endpoint.connect("fuzz", "user-fuzz")
    return endpoint


def test_fuzz_client_frames_get_well_formed_answers_and_never_an_internal_error(endpoint):
    @fuzzing(examples=300, deadline_ms=BUDGET_MS)
    @given(client_frames)
    def one_frame(body):
        sent = endpoint.sink.frames.setdefault("fuzz", [])
        before = len(sent)
        started = time.perf_counter()
        endpoint.receive("fuzz", body)
        assert time.perf_counter() - started < BUDGET_MS / 1000
        replies = sent[before:]
        assert replies, "every frame gets an answer"
        for reply in replies:
            assert len(json.dumps(reply, ensure_ascii=False).encode()) <= MAX_SERVER_FRAME_BYTES
            if reply["type"] == "error":
                assert reply["code"] in ERROR_CODES, reply
        tally["client frames"] += 1

    one_frame()
    endpoint.receive("fuzz", '{"action":"ping","requestId":"after"}')
    assert endpoint.sink.frames["fuzz"][-1] == {"type": "pong", "requestId": "after"}
