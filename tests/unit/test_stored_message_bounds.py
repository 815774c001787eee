"""Whatever the sources call themselves, an answer the user saw is stored and its session's history
still loads: stored messages and history frames are bounded (DynamoDB items stop at 400 KB, frames
at 32 KB)."""

import json

import boto3
import pytest

from ragchat.adapters.aws.dynamodb_sessions import DynamoDbSessionStore
from ragchat.adapters.local.connections import InMemoryConnections
from ragchat.adapters.local.sessions import SqliteSessionStore
from ragchat.adapters.local.sqlite_store import SqliteChunkStore
from ragchat.chat.endpoint import ChatEndpoint
from ragchat.domain import Message, Source
from tests.contract.chunk_store_contract import EMBEDDER, put, record
from tests.fakes import RecordingSink, ScriptedGenerator
from tests.support.chat import chat_service, retriever_over
from tests.support.template import create_table

HUGE_TITLE = "Deploy runbook " * 3000  # 45 KB: a <title> nobody reads, as a hostile page may carry
SOURCES = 12


def store_of_huge_titles(tmp_path):
    """Chunks stored with their titles unclipped (as stored before titles were clipped at parse time)."""
    store = SqliteChunkStore(tmp_path / "store.db")
    store.ensure_embedding_space(EMBEDDER.model_id, EMBEDDER.dimension)
    for i in range(SOURCES):
        put(store, record(f"d{i}", f"deploy-{i}.md", title=HUGE_TITLE), f"deploy the stack step {i} with sam deploy")
    return store


def test_chat_answer_citing_huge_titles_is_stored_in_dynamodb(tmp_path, aws):
    dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
    create_table(dynamodb, "SessionsTable", "sessions")
    sessions = DynamoDbSessionStore("sessions", client=dynamodb)
    citing_all = "Deploy it like this " + "".join(f"[{n}]" for n in range(1, SOURCES + 1)) + "."
    chat = chat_service(retriever_over(store_of_huge_titles(tmp_path), EMBEDDER), ScriptedGenerator([citing_all]),
                        sessions, chat_sources=SOURCES)
    frames = []
    reply = chat.answer("alice", "how do I deploy the stack", frames.append)
    assert frames[-1]["type"] == "end"
    (stored_reply,) = [m for m in sessions.list_messages("alice", reply.session_id) if m.role == "assistant"]
    assert stored_reply.content == citing_all
    assert stored_reply.citations and all(len(c.title) <= 200 for c in stored_reply.citations)


def test_endpoint_history_of_messages_citing_huge_titles_still_loads(tmp_path):
    sessions = SqliteSessionStore(tmp_path / "sessions.db")
    session = sessions.create_session("alice", "deploy")
    citations = tuple(Source(number=n, chunk_id=f"c{n}", doc_id=f"d{n}", title=HUGE_TITLE, uri=f"s3://b/{n}.md",
                             path=f"{n}.md", heading_path=(HUGE_TITLE,) * 3, page=None, snippet="deploy", score=0.5)
                      for n in range(1, SOURCES + 1))
    for i in range(3):
        sessions.append_message("alice", Message(message_id=f"m{i}", session_id=session.session_id,
                                                 role="assistant", content="Deploy [1].", created_at=float(i),
                                                 citations=citations))
    endpoint = ChatEndpoint(chat_service(None, ScriptedGenerator(), sessions), sessions, InMemoryConnections(),
                            RecordingSink())
    endpoint.connect("conn", "alice")
    endpoint.receive("conn", json.dumps({"action": "getHistory", "sessionId": session.session_id, "requestId": "h"}))
    frames = endpoint.sink.frames["conn"]
    assert {f["type"] for f in frames} == {"history"}
    assert [m["messageId"] for f in frames for m in f["messages"]] == ["m0", "m1", "m2"]
    assert all(c["title"].startswith("Deploy runbook") and len(c["title"]) <= 200
               for f in frames for m in f["messages"] for c in m["citations"])


@pytest.mark.parametrize("content", ["é" * 70_000])  # 140 KB of two-byte characters
def test_chat_stored_reply_is_bounded_however_long_the_answer(tmp_path, content):
    sessions = SqliteSessionStore(tmp_path / "sessions.db")
    chat = chat_service(retriever_over(store_of_huge_titles(tmp_path), EMBEDDER), ScriptedGenerator([content]),
                        sessions)
    reply = chat.answer("alice", "how do I deploy the stack", [].append)
    assert len(reply.content.encode()) <= 128 * 1024 and content.startswith(reply.content)
