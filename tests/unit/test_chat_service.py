import pytest

from ragchat.adapters.local.sessions import SqliteSessionStore
from ragchat.adapters.local.sqlite_store import SqliteChunkStore
from ragchat.chat.prompting import NO_SOURCES_ANSWER
from ragchat.domain import ToolCall
from ragchat.errors import ClientGone, GenerationError, SessionNotFound
from tests.contract.chunk_store_contract import EMBEDDER, put, record
from tests.fakes import ScriptedGenerator, ScriptedToolGenerator
from tests.support.chat import chat_service, retriever_over


@pytest.fixture
def stack(tmp_path):
    store = SqliteChunkStore(tmp_path / "store.db")
    store.ensure_embedding_space(EMBEDDER.model_id, EMBEDDER.dimension)
    put(store, record("d1", "deploy.md"), "deploy the stack with sam deploy guided", "delete the stack with sam delete")
    put(store, record("d2", "costs.md"), "opensearch serverless collections cost money at rest")
    return retriever_over(store, EMBEDDER), SqliteSessionStore(tmp_path / "sessions.db")


def chat(stack, generator=None):
    retriever, sessions = stack
    return chat_service(retriever, generator or ScriptedGenerator(), sessions)


def test_chat_streams_start_deltas_sources_end_and_stores_both_turns(stack):
    frames = []
    service = chat(stack, ScriptedGenerator(["Use sam", " deploy [1", "] or ask [9]."]))
    reply = service.answer("alice", "how do I deploy the stack with sam", frames.append, request_id="r1")
    types = [f["type"] for f in frames]
    assert types[0] == "start" and types[-2:] == ["sources", "end"] and set(types[1:-2]) == {"delta"}
    text = "".join(f["text"] for f in frames if f["type"] == "delta")
    assert text == "Use sam deploy [1] or ask ."
    end = frames[-1]
    assert [c["n"] for c in end["citations"]] == [1]
    assert end["citations"][0]["title"] == "Title of d1"
    assert [f["seq"] for f in frames if f["type"] == "delta"] == list(range(1, len(types) - 2))
    _, sessions = stack
    stored = sessions.list_messages("alice", end["sessionId"])
    assert [(m.role, m.content) for m in stored] == [("user", "how do I deploy the stack with sam"),
                                                     ("assistant", text)]
    assert [c.number for c in stored[1].citations] == [1] == [c.number for c in reply.citations]


def test_chat_prompt_numbers_sources_and_bounds_history(stack):
    generator = ScriptedGenerator(["ok"], rewrite="How do I delete the stack?")
    service = chat(stack, generator)
    first = []
    service.answer("alice", "how do I deploy the stack", first.append)
    session_id = first[0]["sessionId"]
    service.answer("alice", "and delete it?", [].append, session_id=session_id)
    request = generator.requests[-1]
    assert request.question == "How do I delete the stack?"
    assert [t.role for t in request.turns] == ["user", "assistant", "user"]
    assert "[1] Title of" in request.turns[-1].content


def test_chat_says_so_when_nothing_relevant_is_retrieved(stack):
    frames = []
    generator = ScriptedGenerator()
    chat(stack, generator).answer("alice", "zebra migration patterns", frames.append)
    assert "".join(f["text"] for f in frames if f["type"] == "delta") == NO_SOURCES_ANSWER
    assert frames[-1]["citations"] == [] and frames[-2]["sources"] == []
    assert generator.requests == []


def test_chat_refuses_a_session_of_another_user(stack):
    frames = []
    service = chat(stack)
    service.answer("alice", "how do I deploy the stack", frames.append)
    with pytest.raises(SessionNotFound):
        service.answer("mallory", "show me", [].append, session_id=frames[0]["sessionId"])


def test_chat_keeps_what_was_said_when_the_client_vanishes(stack):
    sent = []

    def vanishing(frame):
        if len(sent) >= 2:
            raise ClientGone("gone")
        sent.append(frame)

    service = chat(stack, ScriptedGenerator(["First part. ", "Second part [1]."]))
    assert service.answer("alice", "how do I deploy the stack", vanishing) is None
    _, sessions = stack
    stored = sessions.list_messages("alice", sent[0]["sessionId"])
    assert stored[-1].role == "assistant" and "interrupted" in stored[-1].content


def test_chat_generation_failure_propagates_after_storing_what_was_said(stack):
    frames = []
    with pytest.raises(GenerationError):
        chat(stack, ScriptedGenerator(["a", "b"], fail_after=1)).answer("alice", "deploy the stack", frames.append)
    _, sessions = stack
    stored = sessions.list_messages("alice", frames[0]["sessionId"])
    assert [m.role for m in stored] == ["user", "assistant"]  # what was said, marked as failed
    assert stored[1].content == "a\n\n*(the model failed before the answer was complete)*"


def test_chat_single_retrieval_never_uses_another_users_upload(stack):
    retriever, _ = stack
    put(retriever.store, record("bob", "uploads/bob/plan.md"), "deploy the stack with bob's secret plan")
    generator = ScriptedGenerator(["ok"])
    chat(stack, generator).answer("alice", "deploy the stack plan", [].append)
    assert {s.doc_id for s in generator.requests[0].sources} == {"d1", "d2"}
    chat(stack, generator).answer("bob", "deploy the stack plan", [].append)
    assert "bob" in {s.doc_id for s in generator.requests[1].sources}


def tool_chat(stack, replies):
    from ragchat.retrieval.relevance import relevance_gate
    from ragchat.tools import default_tools

    retriever, sessions = stack
    tools = default_tools(retriever, retriever.store, relevance_gate(0.0))
    return chat_service(retriever, ScriptedToolGenerator(replies), sessions, tools=tools)


def test_chat_with_tools_lets_the_model_search_instead_of_retrieving_up_front(stack):
    frames = []
    service = tool_chat(stack, [("", [ToolCall("t1", "search_documents", {"query": "sam delete"})], 10),
                                ("Delete with sam delete [1].", [], 10)])
    service.answer("alice", "and how do I remove it?", frames.append)
    assert service.generator.requests[0].sources == ()  # no retrieval before the model asked
    assert service.generator.requests[0].turns[-1].content == "and how do I remove it?"
    end = frames[-1]
    assert (end["steps"], end["toolCalls"], end["citations"][0]["docId"]) == (2, 1, "d1")


def test_chat_with_tools_keeps_what_was_said_when_the_client_vanishes_mid_loop(stack):
    sent = []

    def send(frame):
        if frame["type"] == "tool" and frame["status"] == "done":
            raise ClientGone("left")
        sent.append(frame)

    service = tool_chat(stack, [("Searching first.", [ToolCall("t1", "search_documents", {"query": "deploy"})], 10),
                                ("never said", [], 10)])
    assert service.answer("alice", "how do I deploy?", send) is None
    assert len(service.generator.requests) == 1  # the loop stopped with the client
    _, sessions = stack
    session_id = sent[0]["sessionId"]
    stored = sessions.list_messages("alice", session_id)[-1]
    assert stored.content.startswith("Searching first.") and "interrupted" in stored.content


def test_chat_history_for_a_model_alternates_roles_after_an_unanswered_question():
    from ragchat.chat.prompting import bounded_history
    from ragchat.domain import Message

    def message(role, text, at):
        return Message(message_id=str(at), session_id="s", role=role, content=text, created_at=at)

    history = [message("user", "first", 1), message("user", "second", 2), message("assistant", "answer", 3),
               message("user", "never answered", 4)]
    turns = bounded_history(history, 1000)
    assert [(t.role, t.content) for t in turns] == [("user", "first\n\nsecond"), ("assistant", "answer")]


def test_chat_with_tools_keeps_what_was_said_when_the_model_fails_mid_loop(stack):
    class FailingSecondCall(ScriptedToolGenerator):
        def stream(self, request, on_text):
            if self.requests:
                raise GenerationError("throttled")
            return super().stream(request, on_text)

    retriever, sessions = stack
    from ragchat.retrieval.relevance import relevance_gate
    from ragchat.tools import default_tools

    service = chat_service(retriever, FailingSecondCall([("Looking it up.", [
        ToolCall("t1", "search_documents", {"query": "deploy"})], 10)]), sessions,
        tools=default_tools(retriever, retriever.store, relevance_gate(0.0)))
    frames = []
    with pytest.raises(GenerationError):
        service.answer("alice", "how do I deploy?", frames.append)
    stored = sessions.list_messages("alice", frames[0]["sessionId"])
    assert [m.role for m in stored] == ["user", "assistant"]
    assert stored[1].content.startswith("Looking it up.") and "the model failed" in stored[1].content
