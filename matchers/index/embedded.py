"""The embedded candidate index: one SQLite file plus numpy scans, in-process.

Text search uses a table of the tokens of :func:`matchers.index.base.tokenize` (the same
tokens Elasticsearch stores), so both backends match the same documents. Radius and face
searches are exact brute-force scans in numpy over arrays loaded from SQLite once and
rebuilt after writes: at a million 256-bit hashes a scan reads 32 MB, a few milliseconds
(see bench/index.py).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from matchers.index.base import (
    AGG_NAMES,
    AGG_SIZES,
    EUCLIDEAN_SIGNALS,
    HAMMING_SIGNALS,
    MISSING_LAST,
    BadQuery,
    CandidateDoc,
    CandidateIndex,
    SearchFilters,
    SearchPage,
    as_utc,
    check_size,
    decode_token,
    decode_vector,
    doc_terms,
    encode_token,
    face_distances,
    hamming,
    hex_to_bits,
    min_by_doc,
    parse_sort,
    sorted_hits,
    to_millis,
    tokenize,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    doc_id TEXT PRIMARY KEY, platform TEXT NOT NULL, uploader TEXT NOT NULL,
    published_ms INTEGER, found_ms INTEGER NOT NULL, day TEXT NOT NULL,
    matched INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS terms (term TEXT NOT NULL, doc_id TEXT NOT NULL,
    PRIMARY KEY (term, doc_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS terms_doc ON terms (doc_id);
CREATE TABLE IF NOT EXISTS attrs (field TEXT NOT NULL, value TEXT NOT NULL,
    doc_id TEXT NOT NULL, PRIMARY KEY (field, value, doc_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS attrs_doc ON attrs (doc_id);
CREATE TABLE IF NOT EXISTS sigs (doc_id TEXT NOT NULL, signal TEXT NOT NULL,
    value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sigs_doc ON sigs (doc_id);
CREATE INDEX IF NOT EXISTS sigs_signal ON sigs (signal);
"""

_SORT_COLUMNS = {"found_at": "found_ms", "published_at": "published_ms",
                 "uploader": "uploader", "platform": "platform"}


class EmbeddedIndex(CandidateIndex):
    """SQLite + numpy. Safe to share between threads (one lock around the connection)."""

    backend = "embedded"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.RLock()
        self._generation = 0
        self._cache: dict[str, tuple[tuple[int, int], Any, Any]] = {}

    # --- writes ------------------------------------------------------------------------
    def add(self, docs: Sequence[CandidateDoc]) -> int:
        docs = [d.validate() for d in docs]
        ids = [(d.doc_id,) for d in docs]
        with self._lock:
            self._db.execute("BEGIN")
            try:
                for table in ("terms", "attrs", "sigs"):
                    self._db.executemany(f"DELETE FROM {table} WHERE doc_id = ?", ids)  # noqa: S608
                self._db.executemany(
                    "INSERT OR REPLACE INTO docs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(d.doc_id, d.platform, d.uploader, to_millis(d.published_at),
                      to_millis(d.found_at), as_utc(d.found_at).strftime("%Y-%m-%d"), int(d.matched),
                      json.dumps(d.to_json(), ensure_ascii=False)) for d in docs])
                self._db.executemany("INSERT OR IGNORE INTO terms VALUES (?, ?)",
                                     [(t, d.doc_id) for d in docs for t in doc_terms(d)])
                self._db.executemany(
                    "INSERT OR IGNORE INTO attrs VALUES (?, ?, ?)",
                    [(f, v, d.doc_id) for d in docs
                     for f, vs in (("client", d.clients), ("person", d.persons)) for v in vs])
                self._db.executemany(
                    "INSERT INTO sigs VALUES (?, ?, ?)",
                    [(d.doc_id, s, v.lower() if s in HAMMING_SIGNALS else v)
                     for d in docs for s, vs in d.signals.items() for v in dict.fromkeys(vs)])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._generation += 1
        return len(docs)

    # --- reads -------------------------------------------------------------------------
    def get(self, doc_ids: Sequence[str]) -> list[CandidateDoc]:
        found: dict[str, CandidateDoc] = {}
        with self._lock:
            for i in range(0, len(doc_ids), 500):
                part = list(doc_ids[i:i + 500])
                marks = ",".join("?" * len(part))
                for doc_id, data in self._db.execute(
                        f"SELECT doc_id, data FROM docs WHERE doc_id IN ({marks})", part):  # noqa: S608
                    found[doc_id] = CandidateDoc.from_json(json.loads(data))
        return [found[i] for i in doc_ids if i in found]

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM docs").fetchone()[0])

    def _signal_arrays(self, signal: str) -> tuple[npt.NDArray[Any], Any]:
        with self._lock:
            # Rebuilt after this instance's writes (_generation) and after another
            # connection's, e.g. the daemon's indexer role while the API serves searches
            # (SQLite's data_version changes when another connection commits).
            generation = (self._generation,
                          int(self._db.execute("PRAGMA data_version").fetchone()[0]))
            cached = self._cache.get(signal)
            if cached and cached[0] == generation:
                return cached[1], cached[2]
            rows = self._db.execute(
                "SELECT doc_id, value FROM sigs WHERE signal = ? ORDER BY rowid", (signal,)
            ).fetchall()
        ids = np.array([r[0] for r in rows], dtype=object)
        matrix: Any
        if signal in HAMMING_SIGNALS:
            nbytes = HAMMING_SIGNALS[signal] // 8
            matrix = np.frombuffer(bytes.fromhex("".join(r[1] for r in rows)),
                                   dtype=np.uint8).reshape(len(rows), nbytes).copy()
        else:
            matrix = (np.stack([decode_vector(r[1]) for r in rows]) if rows
                      else np.zeros((0, EUCLIDEAN_SIGNALS[signal]), dtype=np.float32))
        with self._lock:
            self._cache[signal] = (generation, ids, matrix)
        return ids, matrix

    def radius_search(self, signal: str, hex_value: str, radius: int) -> list[tuple[str, int]]:
        query = hex_to_bits(signal, hex_value)
        if radius < 0:
            raise BadQuery("radius must be >= 0")
        ids, rows = self._signal_arrays(signal)
        dist = hamming(query, rows)
        near = np.nonzero(dist <= radius)[0]
        return sorted_hits(min_by_doc((str(ids[i]), int(dist[i])) for i in near))

    def knn_face(self, embedding: str, k: int, max_distance: float) -> list[tuple[str, float]]:
        query = decode_vector(embedding)
        ids, rows = self._signal_arrays("face")
        dist = face_distances(query, rows)
        best = min_by_doc((str(ids[i]), d) for i, d in enumerate(dist) if d <= max_distance)
        return sorted_hits(best)[:k]

    def _where(self, text: str, f: SearchFilters) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for token in dict.fromkeys(tokenize(text)):
            clauses.append("doc_id IN (SELECT doc_id FROM terms WHERE term = ?)")
            params.append(token)
        if f.platform:
            clauses.append(f"platform IN ({','.join('?' * len(f.platform))})")
            params += f.platform
        for name, values in (("client", f.client), ("person", f.person)):
            if values:
                marks = ",".join("?" * len(values))
                clauses.append(f"doc_id IN (SELECT doc_id FROM attrs WHERE field = ? AND value IN ({marks}))")  # noqa: S608
                params += [name, *values]
        if f.matched is not None:
            clauses.append("matched = ?")
            params.append(int(f.matched))
        if f.date_field not in ("found_at", "published_at"):
            raise BadQuery("date_field must be found_at or published_at")
        column = _SORT_COLUMNS[f.date_field]
        if f.since is not None:
            clauses.append(f"{column} >= ?")
            params.append(to_millis(f.since))
        if f.until is not None:
            clauses.append(f"{column} < ?")
            params.append(to_millis(f.until))
        if f.doc_ids is not None:
            clauses.append(f"doc_id IN ({','.join('?' * len(f.doc_ids))})")
            params += f.doc_ids
        return (" AND ".join(clauses) or "1"), params

    def search(self, text: str = "", filters: SearchFilters | None = None,
               sort: str = "-found_at", size: int = 20, after: str | None = None,
               aggs: Sequence[str] = ()) -> SearchPage:
        f = filters or SearchFilters()
        name, order = parse_sort(sort)
        check_size(size)
        where, params = self._where(text, f)
        column = _SORT_COLUMNS[name]
        key = (f"COALESCE({column}, {MISSING_LAST[order]})" if name.endswith("_at")
               else column)
        page_where, page_params = where, list(params)
        if after:
            value, last_id = decode_token(after, name)
            op = ">" if order == "asc" else "<"
            page_where += f" AND ({key} {op} ? OR ({key} = ? AND doc_id > ?))"
            page_params += [value, value, last_id]
        with self._lock:
            rows = self._db.execute(
                f"SELECT {key}, doc_id, data FROM docs WHERE {page_where} "  # noqa: S608
                f"ORDER BY {key} {order.upper()}, doc_id ASC LIMIT ?", [*page_params, size]
            ).fetchall()
            total = int(self._db.execute(
                f"SELECT COUNT(*) FROM docs WHERE {where}", params).fetchone()[0])  # noqa: S608
            agg_out = {a: self._agg(a, where, params) for a in aggs}
        hits = [CandidateDoc.from_json(json.loads(r[2])) for r in rows]
        token = encode_token([rows[-1][0], rows[-1][1]]) if rows and len(rows) == size else None
        return SearchPage(hits, total, token, agg_out)

    def _agg(self, name: str, where: str, params: list[Any]) -> list[tuple[str, int]]:
        if name not in AGG_NAMES:
            raise BadQuery(f"unknown aggregation {name!r}; choose from {', '.join(AGG_NAMES)}")
        if name == "day":
            sql = (f"SELECT day, COUNT(*) FROM docs WHERE {where} "  # noqa: S608
                   "GROUP BY day ORDER BY day LIMIT ?")
        else:
            extra = " AND uploader != ''" if name == "uploader" else ""
            sql = (f"SELECT {name}, COUNT(*) AS n FROM docs WHERE {where}{extra} "  # noqa: S608
                   f"GROUP BY {name} ORDER BY n DESC, {name} ASC LIMIT ?")
        return [(str(k), int(n)) for k, n in self._db.execute(sql, [*params, AGG_SIZES[name]])]

    def close(self) -> None:
        with self._lock:
            self._db.close()
