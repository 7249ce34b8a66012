"""A durable ingest queue: candidates wait in a SQLite file until Elasticsearch takes them.

Every add goes into the queue first (one fsync'd transaction), then the queue is drained
in order. A batch leaves the queue only after Elasticsearch acknowledged every document
in it, so a crash or an outage at any point loses nothing; a batch sent twice is
harmless because documents are written by id (idempotent). Documents Elasticsearch
rejects for good (a mapping error) move to a dead-letter table instead of blocking.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from matchers.index.base import CandidateDoc

SCHEMA = """
CREATE TABLE IF NOT EXISTS queue (seq INTEGER PRIMARY KEY AUTOINCREMENT, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dead (id INTEGER PRIMARY KEY AUTOINCREMENT, seq INTEGER,
    doc TEXT NOT NULL, error TEXT NOT NULL, at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
"""


class IngestQueue:
    """FIFO of candidate documents in ``path`` (shared safely by threads and processes)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                   timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def put(self, docs: Sequence[CandidateDoc]) -> None:
        rows = [(json.dumps(d.to_json(), ensure_ascii=False),) for d in docs]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("INSERT INTO queue (doc) VALUES (?)", rows)
            self._db.execute("COMMIT")

    def peek(self, limit: int) -> list[tuple[int, CandidateDoc]]:
        """The oldest ``limit`` queued documents, still queued until :meth:`ack`."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, doc FROM queue ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [(seq, CandidateDoc.from_json(json.loads(doc))) for seq, doc in rows]

    def ack(self, seqs: Sequence[int]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("DELETE FROM queue WHERE seq = ?", [(s,) for s in seqs])
            self._db.execute("COMMIT")

    def dead_letter(self, seq: int | None, doc: CandidateDoc, error: str) -> None:
        """Set aside a document the cluster refused for good (``seq`` None: never queued)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("INSERT INTO dead (seq, doc, error) VALUES (?, ?, ?)",
                             (seq, json.dumps(doc.to_json(), ensure_ascii=False), error[:2000]))
            if seq is not None:
                self._db.execute("DELETE FROM queue WHERE seq = ?", (seq,))
            self._db.execute("COMMIT")

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM queue").fetchone()[0])

    def dead_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM dead").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
