"""The contract every SessionStore adapter passes. Subclass it and provide an empty `sessions` store."""

from __future__ import annotations

import time

import pytest

from ragchat.domain import Message, Source
from ragchat.errors import SessionNotFound

SOURCE = Source(number=1, chunk_id="c1", doc_id="d1", title="Guide", uri="file:///g.md", path="g.md",
                heading_path=("Guide", "Deploy"), page=None, snippet="sam deploy", score=0.5)


def message(session_id: str, n: int, role: str = "user", **extra) -> Message:
    return Message(message_id=f"{session_id}-m{n}", session_id=session_id, role=role, content=f"message {n}",
                   created_at=time.time() + n, **extra)


class SessionStoreContract:
    def test_session_round_trips_messages_in_order_with_citations(self, sessions):
        session = sessions.create_session("alice", "Deploying")
        sessions.append_message("alice", message(session.session_id, 1))
        sessions.append_message("alice", message(session.session_id, 2, role="assistant", citations=(SOURCE,),
                                                 request_id="r1"))
        got = sessions.list_messages("alice", session.session_id)
        assert [(m.role, m.content) for m in got] == [("user", "message 1"), ("assistant", "message 2")]
        assert got[1].citations == (SOURCE,) and got[1].request_id == "r1"

    def test_session_limit_returns_the_most_recent_messages_oldest_first(self, sessions):
        session = sessions.create_session("alice", "Long")
        for n in range(1, 8):
            sessions.append_message("alice", message(session.session_id, n))
        assert [m.content for m in sessions.list_messages("alice", session.session_id, limit=3)] == [
            "message 5", "message 6", "message 7"]

    def test_session_of_another_user_does_not_exist_for_them(self, sessions):
        session = sessions.create_session("alice", "Private")
        sessions.append_message("alice", message(session.session_id, 1))
        assert sessions.get_session("mallory", session.session_id) is None
        assert sessions.list_sessions("mallory") == []
        with pytest.raises(SessionNotFound):
            sessions.list_messages("mallory", session.session_id)
        with pytest.raises(SessionNotFound):
            sessions.append_message("mallory", message(session.session_id, 2))
        assert sessions.delete_session("mallory", session.session_id) is False
        assert len(sessions.list_messages("alice", session.session_id)) == 1

    def test_sessions_are_listed_per_user_most_recent_first(self, sessions):
        first = sessions.create_session("alice", "First")
        second = sessions.create_session("alice", "Second")
        sessions.create_session("bob", "Bob's")
        sessions.append_message("alice", message(first.session_id, 5))
        assert [s.title for s in sessions.list_sessions("alice")] == ["First", "Second"]
        assert second.session_id in {s.session_id for s in sessions.list_sessions("alice")}

    def test_appending_the_same_message_twice_stores_it_once(self, sessions):
        session = sessions.create_session("alice", "Retry")
        retried = message(session.session_id, 1)  # a write retried after a timeout sends the same message
        sessions.append_message("alice", retried)
        sessions.append_message("alice", retried)
        assert len(sessions.list_messages("alice", session.session_id)) == 1

    def test_delete_session_removes_its_messages(self, sessions):
        session = sessions.create_session("alice", "Gone")
        sessions.append_message("alice", message(session.session_id, 1))
        assert sessions.delete_session("alice", session.session_id) is True
        assert sessions.get_session("alice", session.session_id) is None
        with pytest.raises(SessionNotFound):
            sessions.list_messages("alice", session.session_id)

    def test_unknown_session_is_not_found(self, sessions):
        assert sessions.get_session("alice", "nope") is None
        with pytest.raises(SessionNotFound):
            sessions.append_message("alice", message("nope", 1))

    def test_create_session_with_a_chosen_id(self, sessions):
        session = sessions.create_session("alice", "Chosen", session_id="s-123")
        assert sessions.get_session("alice", "s-123") == session
