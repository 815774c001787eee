"""Route handlers fed the API Gateway-shaped events in events/ (the ones `sam local invoke` uses)."""

import copy
import json
from pathlib import Path

import pytest

from ragchat.adapters.local.sessions import SqliteSessionStore
from ragchat.adapters.local.sqlite_store import SqliteChunkStore
from ragchat.chat.routes import ChatRoutes, InMemoryConnections
from ragchat.chat.service import ChatService
from ragchat.retrieval.retriever import HybridRetriever
from tests.contract.chunk_store_contract import EMBEDDER, put, record
from tests.fakes import RecordingSink, ScriptedGenerator

EVENTS = Path(__file__).resolve().parents[2] / "events"
CONNECTION = "QyMmLcWmDoECHfQ="


def event(name: str, body: dict | str | None = None, connection_id: str = CONNECTION) -> dict:
    data = copy.deepcopy(json.loads((EVENTS / name).read_text()))
    data["requestContext"]["connectionId"] = connection_id
    if body is not None:
        data["body"] = body if isinstance(body, str) else json.dumps(body)
    return data


@pytest.fixture
def routes(tmp_path):
    store = SqliteChunkStore(tmp_path / "store.db")
    store.ensure_embedding_space(EMBEDDER.model_id, EMBEDDER.dimension)
    put(store, record("d1", "deploy.md"), "deploy the stack with sam deploy guided")
    sessions = SqliteSessionStore(tmp_path / "sessions.db")
    chat = ChatService(HybridRetriever(store, EMBEDDER), ScriptedGenerator(["Deploy with SAM [1]."]), sessions)
    return ChatRoutes(chat, sessions, InMemoryConnections(), RecordingSink())


def connect(routes, connection_id=CONNECTION, user="user-alice"):
    data = event("ws-connect.json", connection_id=connection_id)
    data["requestContext"]["authorizer"] = {"principalId": user}
    assert routes.handle(data)["statusCode"] == 200


def test_routes_connect_send_message_disconnect(routes):
    connect(routes)
    assert routes.handle(event("ws-send-message.json"))["statusCode"] == 200
    frames = routes.sink.frames[CONNECTION]
    assert [f["type"] for f in frames] == ["start", "delta", "sources", "end"]
    assert all(f["requestId"] == "req-1" for f in frames)
    assert frames[1]["text"] == "Deploy with SAM [1]."
    assert routes.handle(event("ws-disconnect.json"))["statusCode"] == 200
    assert routes.connections.user_of(CONNECTION) is None


def test_routes_connect_without_authorizer_context_is_refused(routes):
    data = event("ws-connect.json")
    del data["requestContext"]["authorizer"]
    assert routes.handle(data)["statusCode"] == 401


@pytest.mark.parametrize("body,code", [
    ("{oops", "bad_json"),
    ({"action": "fly", "requestId": "r7"}, "unknown_action"),
    ({"action": "sendMessage", "requestId": "r8"}, "bad_request"),
    ({"action": "sendMessage", "message": "x" * 40000}, "message_too_large"),
    ({"action": "getHistory", "sessionId": "missing", "requestId": "r9"}, "session_not_found"),
])
def test_routes_bad_frames_get_error_frames_and_the_connection_stays(routes, body, code):
    connect(routes)
    assert routes.handle(event("ws-send-message.json", body))["statusCode"] == 200
    error = routes.sink.frames[CONNECTION][-1]
    assert (error["type"], error["code"]) == ("error", code)
    if isinstance(body, dict) and body.get("requestId"):
        assert error["requestId"] == body["requestId"]
    routes.handle(event("ws-send-message.json", {"action": "ping", "requestId": "p1"}))
    assert routes.sink.frames[CONNECTION][-1] == {"type": "pong", "requestId": "p1"}


def test_routes_history_and_sessions_are_per_user(routes):
    connect(routes, "conn-a", "alice")
    connect(routes, "conn-b", "bob")
    routes.handle(event("ws-send-message.json", connection_id="conn-a"))
    session_id = routes.sink.frames["conn-a"][0]["sessionId"]

    routes.handle(event("ws-send-message.json", {"action": "getHistory", "sessionId": session_id}, "conn-a"))
    history = routes.sink.frames["conn-a"][-1]
    assert history["type"] == "history" and history["last"] is True
    assert [m["role"] for m in history["messages"]] == ["user", "assistant"]

    routes.handle(event("ws-send-message.json", {"action": "getHistory", "sessionId": session_id}, "conn-b"))
    assert routes.sink.frames["conn-b"][-1]["code"] == "session_not_found"
    routes.handle(event("ws-send-message.json", {"action": "listSessions"}, "conn-b"))
    assert routes.sink.frames["conn-b"][-1]["sessions"] == []
    routes.handle(event("ws-send-message.json", {"action": "sendMessage", "message": "hi", "sessionId": session_id},
                        "conn-b"))
    assert routes.sink.frames["conn-b"][-1]["code"] == "session_not_found"


def test_routes_long_history_is_split_into_frames_under_the_limit(routes):
    connect(routes)
    routes.handle(event("ws-send-message.json"))
    session_id = routes.sink.frames[CONNECTION][0]["sessionId"]
    for i in range(12):
        routes.handle(event("ws-send-message.json", {"action": "sendMessage", "sessionId": session_id,
                                                     "message": f"deploy {i} " + "y" * 3900}))
    routes.handle(event("ws-send-message.json", {"action": "getHistory", "sessionId": session_id}))
    history = [f for f in routes.sink.frames[CONNECTION] if f["type"] == "history"]
    assert len(history) > 1
    assert [f["last"] for f in history] == [False] * (len(history) - 1) + [True]
    assert sum(len(f["messages"]) for f in history) == 26
    assert all(len(json.dumps(f, ensure_ascii=False).encode()) < 32 * 1024 for f in routes.sink.frames[CONNECTION])


def test_routes_a_client_that_vanishes_mid_stream_does_not_break_the_handler(routes):
    connect(routes)
    routes.sink.vanish_after = 2
    assert routes.handle(event("ws-send-message.json"))["statusCode"] == 200
    session_id = routes.sink.frames[CONNECTION][0]["sessionId"]
    stored = routes.sessions.list_messages("user-alice", session_id)
    assert [m.role for m in stored] == ["user", "assistant"]
