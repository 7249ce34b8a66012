"""The embedded candidate index: one SQLite file plus in-memory search, in-process.

Text search uses a table of the tokens of :func:`matchers.index.base.tokenize` (the same
tokens Elasticsearch stores), so both backends match the same documents. Radius searches
go through the reference banks' multi-index hashing and face searches through their flat
Euclidean scan, over a copy of each signal's values in memory
(``matchers/index/signal_rows.py``), built at the first query and then kept in step with
the file incrementally: each ``sigs`` row has an id that only grows (``meta.next_sig``),
and the rows a write removes (a candidate replaced) are logged in ``sigs_removed``, so a
query after writes - this instance's or another connection's, e.g. the daemon's indexer
role while the API serves searches - loads the rows added since and masks those removed,
never the whole signal again. Figures in docs/search.md (bench/index.py).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
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
    hex_to_bits,
    min_by_doc,
    parse_sort,
    sorted_hits,
    to_millis,
    tokenize,
)
from matchers.index.signal_rows import FaceRows, HammingRows

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
CREATE TABLE IF NOT EXISTS sigs_removed (seq INTEGER PRIMARY KEY AUTOINCREMENT,
    signal TEXT NOT NULL, sig INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
# Run once per file (the first time, or on a file from before these keys): sig ids
# continue after the rows already there.
META = """
INSERT OR IGNORE INTO meta SELECT 'next_sig', COALESCE(MAX(rowid), 0) + 1 FROM sigs;
INSERT OR IGNORE INTO meta VALUES ('removed_trimmed', 0);
"""

log = logging.getLogger(__name__)

_SORT_COLUMNS = {"found_at": "found_ms", "published_at": "published_ms",
                 "uploader": "uploader", "platform": "platform"}


@dataclass
class _Column:
    """One signal's rows in memory and how far they follow the file."""

    rows: HammingRows | FaceRows
    loaded: int = 0  # the largest sigs rowid loaded
    removed_seq: int = 0  # the last sigs_removed entry applied
    version: tuple[int, int] = (-1, -1)  # (_generation, data_version) when last brought up to date


class EmbeddedIndex(CandidateIndex):
    """SQLite + in-memory signal rows. Safe to share between threads (one lock around the
    connection and the rows)."""

    backend = "embedded"
    #: Entries kept in the removal log (sigs_removed); an instance further behind than
    #: that reloads the signal from the file.
    REMOVED_LOG = 100_000

    def __init__(self, path: Path | str, radii: Mapping[str, int] | None = None) -> None:
        """``radii``: per Hamming signal, the radius the multi-index tables are planned
        for (default: the signal's threshold, what a search by photo asks); a query
        within it probes the tables, a wider one scans. Both are exact."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        if self._db.execute("SELECT COUNT(*) FROM meta").fetchone()[0] < 2:
            self._db.executescript(f"BEGIN IMMEDIATE; {META} COMMIT;")
        self._lock = threading.RLock()
        self._generation = 0
        self._radii = dict(radii or {})
        self._columns: dict[str, _Column] = {}

    # --- writes ------------------------------------------------------------------------
    def add(self, docs: Sequence[CandidateDoc]) -> int:
        docs = [d.validate() for d in docs]
        ids = [(d.doc_id,) for d in docs]
        with self._lock:
            # IMMEDIATE: the write lock first, so the sig ids read below stay ours.
            self._db.execute("BEGIN IMMEDIATE")
            try:
                removed = self._sigs_of([d.doc_id for d in docs])
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
                sigs = [(d.doc_id, s, v.lower() if s in HAMMING_SIGNALS else v)
                        for d in docs for s, vs in d.signals.items() for v in dict.fromkeys(vs)]
                first = self._meta("next_sig")
                self._db.executemany("INSERT INTO sigs (rowid, doc_id, signal, value) "
                                     "VALUES (?, ?, ?, ?)",
                                     [(first + i, *row) for i, row in enumerate(sigs)])
                self._db.execute("UPDATE meta SET value = ? WHERE key = 'next_sig'",
                                 (first + len(sigs),))
                self._log_removed(removed)
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

    # --- signal rows -------------------------------------------------------------------
    def _meta(self, key: str) -> int:
        return int(self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0])

    def _sigs_of(self, doc_ids: Sequence[str]) -> list[tuple[str, int]]:
        """``(signal, sig id)`` of the stored values of these documents."""
        out: list[tuple[str, int]] = []
        for i in range(0, len(doc_ids), 500):
            part = list(doc_ids[i:i + 500])
            out += self._db.execute(
                f"SELECT signal, rowid FROM sigs WHERE doc_id IN ({','.join('?' * len(part))})",  # noqa: S608
                part).fetchall()
        return out

    def _log_removed(self, removed: list[tuple[str, int]]) -> None:
        """Log the sig ids a write removed, for the instances holding them in memory;
        keeps the last REMOVED_LOG entries (with more, trims to that many)."""
        if not removed:
            return
        self._db.executemany("INSERT INTO sigs_removed (signal, sig) VALUES (?, ?)", removed)
        last = int(self._db.execute("SELECT MAX(seq) FROM sigs_removed").fetchone()[0])
        if last - self._meta("removed_trimmed") > 2 * self.REMOVED_LOG:
            cut = last - self.REMOVED_LOG
            self._db.execute("DELETE FROM sigs_removed WHERE seq <= ?", (cut,))
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'removed_trimmed'", (cut,))

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[None]:
        """Under the lock, one read transaction: the rows brought up to date and the doc
        ids of the hits are read from the same state of the file."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield
            finally:
                self._db.execute("COMMIT")

    def _radius(self, signal: str) -> int:
        if signal not in self._radii:
            from matchers.signals import all_signal_types

            self._radii[signal] = int(all_signal_types()[signal].THRESHOLD)
        return self._radii[signal]

    def _rows(self, signal: str) -> HammingRows | FaceRows:
        """The signal's rows in memory, up to date with the file (inside ``_snapshot``):
        loaded whole the first time, then the rows added since appended and the rows
        removed since masked, after this instance's writes (_generation) and after
        another connection's (SQLite's data_version changes when one commits)."""
        version = (self._generation,
                   int(self._db.execute("PRAGMA data_version").fetchone()[0]))
        col = self._columns.get(signal)
        if col is not None and col.version == version:
            return col.rows
        last_seq = int(self._db.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM sigs_removed").fetchone()[0])
        if col is None or col.removed_seq < self._meta("removed_trimmed"):
            rows = (HammingRows(HAMMING_SIGNALS[signal], self._radius(signal))
                    if signal in HAMMING_SIGNALS else FaceRows(EUCLIDEAN_SIGNALS[signal]))
            col = self._columns[signal] = _Column(rows, removed_seq=last_seq)
        elif last_seq > col.removed_seq:
            col.rows.remove([r[0] for r in self._db.execute(
                "SELECT sig FROM sigs_removed WHERE seq > ? AND seq <= ? AND signal = ?",
                (col.removed_seq, last_seq, signal))])
            col.removed_seq = last_seq
        cur = self._db.execute("SELECT rowid, value FROM sigs WHERE signal = ? AND rowid > ? "
                               "ORDER BY rowid", (signal, col.loaded))
        ids, values = [], []
        while batch := cur.fetchmany(65_536):
            ids.append(np.fromiter((r[0] for r in batch), np.int64, len(batch)))
            if signal in HAMMING_SIGNALS:
                raw = bytes.fromhex("".join(r[1] for r in batch))
                values.append(np.frombuffer(raw, np.uint8).reshape(len(batch), -1))
            else:
                values.append(np.stack([decode_vector(r[1]) for r in batch]))
        if ids:
            col.rows.append(np.concatenate(ids), np.concatenate(values))
            col.loaded = col.rows.last_id
        col.version = version
        return col.rows

    def _doc_ids(self, sig_ids: npt.NDArray[np.int64]) -> list[str] | None:
        """The document of each sig id (inside ``_snapshot``); None if one is not stored:
        the rows in memory are out of step with the file."""
        wanted = np.unique(sig_ids).tolist()
        found: dict[int, str] = {}
        for i in range(0, len(wanted), 10_000):
            part = wanted[i:i + 10_000]
            found.update(self._db.execute(
                f"SELECT rowid, doc_id FROM sigs WHERE rowid IN ({','.join('?' * len(part))})",  # noqa: S608
                part).fetchall())
        if len(found) < len(wanted):
            return None
        return [found[i] for i in sig_ids.tolist()]

    def _hits(self, signal: str,
              search: Callable[[Any], tuple[npt.NDArray[np.int64], Any]]) -> list[tuple[str, Any]]:
        """``(doc_id, distance)`` of each value ``search(rows)`` finds in the signal's rows."""
        with self._snapshot():
            ids, dist = search(self._rows(signal))
            docs = self._doc_ids(ids)
            if docs is None:
                # Only if the file was written by something that does not keep sig ids
                # growing and log removals (an older version): load the signal afresh.
                log.warning("embedded index %s: the %s values in memory are out of step with "
                            "the file; reloading them", self.path, signal)
                del self._columns[signal]
                ids, dist = search(self._rows(signal))
                docs = self._doc_ids(ids)
                assert docs is not None, "a fresh load is in step within one transaction"
        return list(zip(docs, dist.tolist() if isinstance(dist, np.ndarray) else dist,
                        strict=True))

    def memory(self) -> dict[str, int]:
        """Bytes held in memory by each signal loaded (values, ids and search tables)."""
        with self._lock:
            return {name: col.rows.nbytes() for name, col in self._columns.items()}

    def radius_search(self, signal: str, hex_value: str, radius: int) -> list[tuple[str, int]]:
        query = hex_to_bits(signal, hex_value)
        if radius < 0:
            raise BadQuery("radius must be >= 0")
        found = self._hits(signal, lambda rows: rows.search(query, int(radius)))
        return sorted_hits(min_by_doc(found))

    def knn_face(self, embedding: str, k: int, max_distance: float) -> list[tuple[str, float]]:
        query = decode_vector(embedding)
        found = self._hits("face", lambda rows: rows.search(query, float(max_distance)))
        return sorted_hits(min_by_doc(found))[:k]

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
            self._columns.clear()  # the values in memory go with it
