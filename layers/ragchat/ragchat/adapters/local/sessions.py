"""Sessions in a local SQLite file: one row per message, every query scoped by user."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from pathlib import Path

from ragchat.domain import Message, Session, Source
from ragchat.errors import SessionNotFound

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions(
    session_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    title TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id, updated_at);
CREATE TABLE IF NOT EXISTS messages(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL UNIQUE,
    session_id TEXT NOT NULL REFERENCES sessions(session_id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    citations TEXT NOT NULL,
    request_id TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_session ON messages(session_id, seq);
"""


class SqliteSessionStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._lock = threading.Lock()
        with self._lock:
            self._conn().executescript(_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    def create_session(self, user_id: str, title: str, session_id: str | None = None) -> Session:
        now = time.time()
        session = Session(session_id or uuid.uuid4().hex, user_id, title[:200], now, now)
        with self._lock, self._conn() as conn:
            conn.execute("INSERT INTO sessions VALUES (?,?,?,?,?)",
                         (session.session_id, user_id, session.title, now, now))
        return session

    def get_session(self, user_id: str, session_id: str) -> Session | None:
        row = self._conn().execute(
            "SELECT session_id, user_id, title, created_at, updated_at FROM sessions "
            "WHERE session_id = ? AND user_id = ?", (session_id, user_id)).fetchone()
        return Session(*row) if row else None

    def list_sessions(self, user_id: str, limit: int = 50) -> list[Session]:
        rows = self._conn().execute(
            "SELECT session_id, user_id, title, created_at, updated_at FROM sessions WHERE user_id = ? "
            "ORDER BY updated_at DESC LIMIT ?", (user_id, limit))
        return [Session(*row) for row in rows]

    def append_message(self, user_id: str, message: Message) -> None:
        with self._lock, self._conn() as conn:
            owned = conn.execute("UPDATE sessions SET updated_at = ? WHERE session_id = ? AND user_id = ?",
                                 (message.created_at, message.session_id, user_id)).rowcount
            if not owned:
                raise SessionNotFound(f"no session {message.session_id}")
            conn.execute(
                "INSERT OR IGNORE INTO messages(message_id, session_id, role, content, citations, request_id, "
                "created_at) VALUES (?,?,?,?,?,?,?)",
                (message.message_id, message.session_id, message.role, message.content,
                 json.dumps([c.as_dict() for c in message.citations]), message.request_id, message.created_at))

    def list_messages(self, user_id: str, session_id: str, limit: int | None = None) -> list[Message]:
        if self.get_session(user_id, session_id) is None:
            raise SessionNotFound(f"no session {session_id}")
        rows = self._conn().execute(
            "SELECT message_id, session_id, role, content, created_at, citations, request_id FROM messages "
            "WHERE session_id = ? ORDER BY seq DESC LIMIT ?", (session_id, -1 if limit is None else limit)).fetchall()
        return [
            Message(message_id=r[0], session_id=r[1], role=r[2], content=r[3], created_at=r[4],
                    citations=tuple(Source.from_dict(c) for c in json.loads(r[5])), request_id=r[6])
            for r in reversed(rows)
        ]

    def delete_session(self, user_id: str, session_id: str) -> bool:
        with self._lock, self._conn() as conn:
            conn.execute("DELETE FROM messages WHERE session_id IN "
                         "(SELECT session_id FROM sessions WHERE session_id = ? AND user_id = ?)",
                         (session_id, user_id))
            return conn.execute("DELETE FROM sessions WHERE session_id = ? AND user_id = ?",
                                (session_id, user_id)).rowcount > 0
