import pytest

from ragchat.adapters.local.sessions import SqliteSessionStore
from tests.contract.session_store_contract import SessionStoreContract, message


class TestSqliteSessionStore(SessionStoreContract):
    @pytest.fixture
    def sessions(self, tmp_path):
        return SqliteSessionStore(tmp_path / "sessions.db")


def test_sqlite_sessions_survive_reopening(tmp_path):
    store = SqliteSessionStore(tmp_path / "sessions.db")
    session = store.create_session("alice", "Kept")
    store.append_message("alice", message(session.session_id, 1))
    reopened = SqliteSessionStore(tmp_path / "sessions.db")
    assert [m.content for m in reopened.list_messages("alice", session.session_id)] == ["message 1"]
