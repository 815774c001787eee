"""Quota counters in a SQLite file (the Quotas port, locally): a take checks and adds every charge
in one IMMEDIATE transaction, so it is all or none and concurrent takes, from threads or from other
processes on the same file, never pass a limit."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from ragchat.domain import WINDOW_SECONDS, Charge, window_start

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters(
    counter TEXT NOT NULL,
    window TEXT NOT NULL,
    started INTEGER NOT NULL,  -- the window's first second (UTC epoch)
    value INTEGER NOT NULL,
    PRIMARY KEY (counter, window, started)
);
"""
_ADD = ("INSERT INTO counters(counter, window, started, value) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(counter, window, started) DO UPDATE SET value = value + excluded.value")
KEEP_S = 2 * 86400  # windows that ended longer ago than this are deleted


class SqliteQuotas:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._pruned = 0
        self._conn().executescript(_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def take(self, charges: Sequence[Charge], now: float) -> Charge | None:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")  # one writer at a time, across processes too
        try:
            for charge in charges:
                row = conn.execute("SELECT value FROM counters WHERE counter = ? AND window = ? AND started = ?",
                                   (charge.counter, charge.window, window_start(charge.window, now))).fetchone()
                if not charge.fits(row[0] if row else 0):
                    conn.execute("ROLLBACK")
                    return charge
            conn.executemany(_ADD, [(c.counter, c.window, window_start(c.window, now), c.amount)
                                    for c in charges if c.amount])
            self._prune(conn, now)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return None

    def add(self, counter: str, window: str, amount: int, now: float) -> None:
        self._conn().execute(_ADD, (counter, window, window_start(window, now), amount))

    def _prune(self, conn: sqlite3.Connection, now: float) -> None:
        """Once a minute at most: forget windows long over."""
        if now - self._pruned < 60:
            return
        self._pruned = now
        conn.execute("DELETE FROM counters WHERE started < ?", (int(now) - KEEP_S - WINDOW_SECONDS["day"],))

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
