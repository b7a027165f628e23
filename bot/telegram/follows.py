"""The bot's own state, in SQLite (`$READOUT_STATE_DIR/bot.sqlite3`): the topics chats follow, the
readouts already matched against them, and which alert went to which chat.

Kept on disk so that a restart neither forgets a chat's topics nor sends an alert twice, and so
that readouts that arrived while the bot was down are still announced: at start the bot compares
the index's readouts (and their content hashes) with `readouts` here (bot/telegram/alerts.py).

The tables:

    follows   id, chat_id, topic, topic_key (folded, for "already followed"), created
    readouts  doc, hash (of its content), points (JSON list of its point keys), seen
    sent      chat_id, doc, point_key, at: an alert that went out (or may have)
    meta      key, value: "baseline" once the readouts of the first start were recorded

One connection, used from the event loop only (every statement takes microseconds; nothing here
waits on the network), in WAL mode so that a reader such as a test sees committed state.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MAX_TOPICS = 20  # per chat
MAX_TOPIC_CHARS = 200
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS follows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id INTEGER NOT NULL,
    topic TEXT NOT NULL,
    topic_key TEXT NOT NULL,
    created TEXT NOT NULL,
    UNIQUE (chat_id, topic_key)
);
CREATE INDEX IF NOT EXISTS follows_by_chat ON follows (chat_id);
CREATE TABLE IF NOT EXISTS readouts (
    doc TEXT PRIMARY KEY,
    hash TEXT NOT NULL,
    points TEXT NOT NULL,
    seen TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sent (
    chat_id INTEGER NOT NULL,
    doc TEXT NOT NULL,
    point_key TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (chat_id, doc, point_key)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class StateError(Exception):
    """The state file cannot be used; the message is one line for the operator."""


@dataclass(frozen=True)
class Follow:
    id: int
    chat_id: int
    topic: str


def clean_topic(text: str | None) -> str:
    return " ".join((text or "").split())


def topic_key(topic: str) -> str:
    """"Grave  Visits" and "grave visits" are the same topic."""
    return clean_topic(topic).casefold()


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


class FollowStore:
    """The state file, opened once for the bot's lifetime."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()  # the connection is shared; statements are short
        try:
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StateError(f"{path} was written by a newer readout (state version {version}); "
                                 "upgrade readout or give the bot another state folder")
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.Error as e:
            raise StateError(f"cannot use the state file {path} ({e})") from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _run(self, sql: str, args: Iterable = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, tuple(args))

    # --- follows -------------------------------------------------------------------------------

    def follows_of(self, chat_id: int) -> list[Follow]:
        """The chat's topics, oldest first: what /following numbers 1..N."""
        rows = self._run("SELECT id, chat_id, topic FROM follows WHERE chat_id = ? ORDER BY id", (chat_id,))
        return [Follow(*r) for r in rows.fetchall()]

    def all_follows(self) -> list[Follow]:
        return [Follow(*r) for r in self._run("SELECT id, chat_id, topic FROM follows ORDER BY id").fetchall()]

    def add(self, chat_id: int, topic: str) -> Follow | str:
        """The new follow, or why not (in plain words for the chat): too long, too many, already."""
        topic = clean_topic(topic)
        if not topic:
            return "empty"
        if len(topic) > MAX_TOPIC_CHARS:
            return "too long"
        key = topic_key(topic)
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                rows = db.execute("SELECT topic_key FROM follows WHERE chat_id = ?", (chat_id,)).fetchall()
                if any(r[0] == key for r in rows):
                    db.execute("ROLLBACK")
                    return "already"
                if len(rows) >= MAX_TOPICS:
                    db.execute("ROLLBACK")
                    return "too many"
                cur = db.execute("INSERT INTO follows (chat_id, topic, topic_key, created) VALUES (?, ?, ?, ?)",
                                 (chat_id, topic, key, _now()))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return Follow(int(cur.lastrowid), chat_id, topic)

    def remove(self, chat_id: int, follow_id: int) -> Follow | None:
        """Stop the chat's follow `follow_id`; None when the chat has no such follow."""
        row = self._run("SELECT id, chat_id, topic FROM follows WHERE id = ? AND chat_id = ?",
                        (follow_id, chat_id)).fetchone()
        if row is None:
            return None
        self._run("DELETE FROM follows WHERE id = ?", (follow_id,))
        return Follow(*row)

    def drop_chat(self, chat_id: int) -> int:
        """Forget every follow of a chat (it blocked the bot, or the bot left it); how many."""
        return self._run("DELETE FROM follows WHERE chat_id = ?", (chat_id,)).rowcount

    def move_chat(self, old: int, new: int) -> None:
        """A group became a supergroup (a new chat id): its follows go with it."""
        self._run("UPDATE OR IGNORE follows SET chat_id = ? WHERE chat_id = ?", (new, old))
        self._run("DELETE FROM follows WHERE chat_id = ?", (old,))

    # --- readouts matched, alerts sent ---------------------------------------------------------

    @property
    def has_baseline(self) -> bool:
        """Whether the readouts of the bot's first start were recorded (they are not announced)."""
        return self._run("SELECT 1 FROM meta WHERE key = 'baseline'").fetchone() is not None

    def readout_hashes(self) -> dict[str, str]:
        return dict(self._run("SELECT doc, hash FROM readouts").fetchall())

    def points_of(self, docs: Iterable[str]) -> dict[str, set[str]]:
        """The point keys recorded for each of `docs` that is known (an edited readout's old points)."""
        out: dict[str, set[str]] = {}
        for doc in docs:
            row = self._run("SELECT points FROM readouts WHERE doc = ?", (doc,)).fetchone()
            if row is not None:
                out[doc] = set(json.loads(row[0]))
        return out

    def remember(self, readouts: Iterable[tuple[str, str, Iterable[str]]], baseline: bool = False) -> None:
        """Record (doc, hash, point keys) as matched: they are not matched again until they change."""
        now = _now()
        rows = [(doc, h, json.dumps(sorted(set(points))), now) for doc, h, points in readouts]
        with self._lock:
            db = self._db
            db.execute("BEGIN")
            try:
                db.executemany("INSERT OR REPLACE INTO readouts (doc, hash, points, seen) VALUES (?, ?, ?, ?)", rows)
                if baseline:
                    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('baseline', ?)", (now,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def was_sent(self, chat_id: int, doc: str, point_key: str) -> bool:
        return self._run("SELECT 1 FROM sent WHERE chat_id = ? AND doc = ? AND point_key = ?",
                         (chat_id, doc, point_key)).fetchone() is not None

    def record_sent(self, chat_id: int, doc: str, point_key: str) -> None:
        self._run("INSERT OR IGNORE INTO sent (chat_id, doc, point_key, at) VALUES (?, ?, ?, ?)",
                  (chat_id, doc, point_key, _now()))
