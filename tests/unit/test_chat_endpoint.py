"""The WebSocket protocol's server side (ChatEndpoint), fed client frames as any transport would."""

import json

import pytest

from ragchat.adapters.local.connections import InMemoryConnections
from ragchat.adapters.local.sessions import SqliteSessionStore
from ragchat.adapters.local.sqlite_store import SqliteChunkStore
from ragchat.chat.endpoint import ChatEndpoint
from ragchat.errors import Unauthenticated
from tests.contract.chunk_store_contract import EMBEDDER, put, record
from tests.fakes import RecordingSink, ScriptedGenerator
from tests.support.chat import chat_service, retriever_over

CONNECTION = "QyMmLcWmDoECHfQ="
QUESTION = {"action": "sendMessage", "message": "How do I deploy the stack?", "requestId": "req-1"}


@pytest.fixture
def endpoint(tmp_path):
    store = SqliteChunkStore(tmp_path / "store.db")
    store.ensure_embedding_space(EMBEDDER.model_id, EMBEDDER.dimension)
    put(store, record("d1", "deploy.md"), "deploy the stack with sam deploy guided")
    sessions = SqliteSessionStore(tmp_path / "sessions.db")
    chat = chat_service(retriever_over(store, EMBEDDER), ScriptedGenerator(["Deploy with SAM [1]."]), sessions)
    return ChatEndpoint(chat, sessions, InMemoryConnections(), RecordingSink())


def send(endpoint, body, connection_id=CONNECTION):
    endpoint.receive(connection_id, body if isinstance(body, str) else json.dumps(body))
    return endpoint.sink.frames[connection_id]


def test_endpoint_connect_send_message_disconnect(endpoint):
    endpoint.connect(CONNECTION, "user-alice")
    frames = send(endpoint, QUESTION)
    assert [f["type"] for f in frames] == ["start", "delta", "sources", "end"]
    assert all(f["requestId"] == "req-1" for f in frames)
    assert frames[1]["text"] == "Deploy with SAM [1]."
    endpoint.disconnect(CONNECTION)
    assert endpoint.connections.user_of(CONNECTION) is None


def test_endpoint_connect_without_a_verified_user_is_refused(endpoint):
    with pytest.raises(Unauthenticated):
        endpoint.connect(CONNECTION, None)
    assert endpoint.connections.user_of(CONNECTION) is None


def test_endpoint_frame_from_an_unknown_connection_gets_unauthenticated_and_no_answer(endpoint):
    frames = send(endpoint, QUESTION)
    assert [(f["type"], f["code"]) for f in frames] == [("error", "unauthenticated")]


def test_endpoint_takes_the_transports_verified_user_when_the_connection_record_is_missing(endpoint):
    endpoint.receive(CONNECTION, json.dumps(QUESTION), verified_user="user-alice")
    assert endpoint.sink.types(CONNECTION)[-1] == "end"


@pytest.mark.parametrize("body,code", [
    ("{oops", "bad_json"),
    ({"action": "fly", "requestId": "r7"}, "unknown_action"),
    ({"action": "sendMessage", "requestId": "r8"}, "bad_request"),
    ({"action": "sendMessage", "message": "x" * 40000}, "message_too_large"),
    ({"action": "getHistory", "sessionId": "missing", "requestId": "r9"}, "session_not_found"),
])
def test_endpoint_bad_frames_get_error_frames_and_the_connection_stays(endpoint, body, code):
    endpoint.connect(CONNECTION, "user-alice")
    error = send(endpoint, body)[-1]
    assert (error["type"], error["code"]) == ("error", code)
    if isinstance(body, dict) and body.get("requestId"):
        assert error["requestId"] == body["requestId"]
    assert send(endpoint, {"action": "ping", "requestId": "p1"})[-1] == {"type": "pong", "requestId": "p1"}


def test_endpoint_history_and_sessions_are_per_user(endpoint):
    endpoint.connect("conn-a", "alice")
    endpoint.connect("conn-b", "bob")
    session_id = send(endpoint, QUESTION, "conn-a")[0]["sessionId"]

    history = send(endpoint, {"action": "getHistory", "sessionId": session_id}, "conn-a")[-1]
    assert history["type"] == "history" and history["last"] is True
    assert [m["role"] for m in history["messages"]] == ["user", "assistant"]

    assert send(endpoint, {"action": "listSessions"}, "conn-b")[-1]["sessions"] == []
    for action in ({"action": "getHistory"}, {"action": "sendMessage", "message": "hi"}, {"action": "deleteSession"}):
        assert send(endpoint, {**action, "sessionId": session_id}, "conn-b")[-1]["code"] == "session_not_found"
    assert len(endpoint.sessions.list_messages("alice", session_id)) == 2


def test_endpoint_long_history_is_split_into_frames_under_the_limit(endpoint):
    endpoint.connect(CONNECTION, "user-alice")
    session_id = send(endpoint, QUESTION)[0]["sessionId"]
    for i in range(12):
        send(endpoint, {"action": "sendMessage", "sessionId": session_id, "message": f"deploy {i} " + "y" * 3900})
    send(endpoint, {"action": "getHistory", "sessionId": session_id})
    history = [f for f in endpoint.sink.frames[CONNECTION] if f["type"] == "history"]
    assert len(history) > 1
    assert [f["last"] for f in history] == [False] * (len(history) - 1) + [True]
    assert sum(len(f["messages"]) for f in history) == 26
    assert all(len(json.dumps(f, ensure_ascii=False).encode()) < 32 * 1024 for f in endpoint.sink.frames[CONNECTION])


def test_endpoint_a_client_that_vanishes_mid_stream_does_not_break_it(endpoint):
    endpoint.connect(CONNECTION, "user-alice")
    endpoint.sink.vanish_after = 1  # the start frame arrives, the answer's first delta does not
    session_id = send(endpoint, QUESTION)[0]["sessionId"]
    stored = endpoint.sessions.list_messages("user-alice", session_id)
    assert [m.role for m in stored] == ["user", "assistant"]
    assert "interrupted" in stored[1].content


def test_endpoint_deeply_nested_frame_gets_an_error_frame_and_the_connection_stays(endpoint):
    endpoint.connect(CONNECTION, "user-alice")
    frames = send(endpoint, "[" * 30000)
    assert [(f["type"], f["code"]) for f in frames] == [("error", "bad_json")]
    assert send(endpoint, {"action": "ping", "requestId": "p"})[-1] == {"type": "pong", "requestId": "p"}


class HeldGenerator(ScriptedGenerator):
    """A FAKE model that holds its answer until released, so a second frame arrives mid-answer."""

    def __init__(self):
        import threading

        super().__init__(["Deploy with SAM [1]."])
        self.streaming, self.release = threading.Event(), threading.Event()

    def stream(self, request, on_text):
        self.streaming.set()
        self.release.wait(10)
        return super().stream(request, on_text)


def test_endpoint_second_send_message_while_answering_gets_busy_on_that_connection_only(endpoint):
    import threading

    held = HeldGenerator()
    endpoint.chat.generator = held
    for connection in (CONNECTION, "conn-b"):
        endpoint.connect(connection, "user-alice")
    first = threading.Thread(target=send, args=(endpoint, QUESTION))
    first.start()
    assert held.streaming.wait(10)
    busy = send(endpoint, {**QUESTION, "requestId": "req-2"})[-1]
    assert (busy["type"], busy["code"], busy["requestId"]) == ("error", "busy", "req-2")
    assert send(endpoint, {"action": "ping", "requestId": "p"})[-1]["type"] == "pong"  # other frames go on
    held.release.set()
    first.join(10)
    assert send(endpoint, {**QUESTION, "requestId": "conn-b-1"}, "conn-b")[-1]["type"] == "end"
    assert send(endpoint, {**QUESTION, "requestId": "req-3"})[-1]["type"] == "end"  # free again after the end


def test_endpoint_connection_is_free_when_the_client_sees_the_end(endpoint):
    """A client asking again the moment `end` arrives (the widget does) must not be told `busy`."""
    endpoint.connect(CONNECTION, "user-alice")
    seen_free = []
    post = endpoint.sink.post

    def post_and_check(connection_id, data):
        if json.loads(data)["type"] == "end":  # what the client would do on reading it: ask again
            free = endpoint.in_flight.claim(connection_id)
            seen_free.append(free)
            if free:
                endpoint.in_flight.release(connection_id)
        return post(connection_id, data)

    endpoint.sink.post = post_and_check
    assert send(endpoint, QUESTION)[-1]["type"] == "end"
    assert seen_free == [True]


def test_endpoint_generation_failure_tells_the_client_only_the_public_reason(tmp_path):
    from ragchat.errors import GenerationError

    class Failing(ScriptedGenerator):
        def stream(self, request, on_text):
            raise GenerationError("AccessDenied for arn:aws:iam::123456789012:role/chat", public="the model failed")

    store = SqliteChunkStore(tmp_path / "store.db")
    store.ensure_embedding_space(EMBEDDER.model_id, EMBEDDER.dimension)
    put(store, record("d1", "deploy.md"), "deploy the stack with sam deploy guided")
    sessions = SqliteSessionStore(tmp_path / "sessions.db")
    endpoint = ChatEndpoint(chat_service(retriever_over(store, EMBEDDER), Failing(), sessions), sessions,
                            InMemoryConnections(), RecordingSink())
    endpoint.connect(CONNECTION, "user-alice")
    error = send(endpoint, QUESTION)[-1]
    assert (error["code"], error["message"]) == ("generation_failed", "the model failed")
