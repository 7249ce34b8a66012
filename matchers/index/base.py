"""The candidate index contract: one interface, two implementations (embedded, Elasticsearch).

A candidate document is one content item found on a platform, with the signals computed
from its media. Both backends give the SAME answers to the same queries; the contract
suite (tests/index/test_contract.py) runs every query against both. To make that true by
construction rather than by luck, the parts where engines differ are defined here:

- Text matching: :func:`tokenize` (NFKC, case-folded; every CJK character is a token;
  other tokens are runs of letters and digits). A query matches a document when every
  query token appears among the tokens of its title, description, uploader or tags.
  Elasticsearch stores these tokens in a keyword field, so no analyzer (and no ICU, which
  the test node lacks) decides what a word is.
- Order: every sort ends with ``doc_id`` ascending, so pages never overlap or skip.
  Missing dates sort last in both directions (as Elasticsearch's ``missing: _last``).
- Distances: Hamming distances are exact integers; face distances are Euclidean, computed
  by :func:`face_distances` in float64 on both backends and rounded to 6 decimals.
- Radius search is exact (every document within the radius, none beyond). Elasticsearch
  gets there by multi-index hashing (:func:`chunk_terms`; the guarantee is in
  ``matchers/index/es_query.py``).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import itertools
import json
import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from matchers.signals import all_signal_types

#: Signals searched by Hamming radius, with their size in bits (names are storage keys):
#: every hamming signal type of ``matchers/signals/`` and its ``nbits``.
HAMMING_SIGNALS: dict[str, int] = {name: t.nbits for name, t in all_signal_types().items()
                                   if t.kind == "hamming"}
#: Signals searched by Euclidean distance, with their dimensions (``dims``).
EUCLIDEAN_SIGNALS: dict[str, int] = {name: t.dims for name, t in all_signal_types().items()
                                     if t.kind == "euclidean"}
#: Multi-index hashing chunk width in bits (16 bits: 65,536 values per position).
CHUNK_BITS = 16
#: Largest number of chunk terms one radius query may send (Elasticsearch accepts 65,536).
MAX_QUERY_TERMS = 12_000
SORT_FIELDS = ("found_at", "published_at", "uploader", "platform")
AGG_NAMES = ("platform", "uploader", "day")
# Buckets returned per aggregation (both backends).
AGG_SIZES = {"platform": 50, "uploader": 20, "day": 1000}


class IndexFailure(Exception):
    """Base class for index failures."""


class IndexUnavailable(IndexFailure):
    """The backend cannot be reached (Elasticsearch down): writes should be queued."""


class BadQuery(IndexFailure, ValueError):
    """A query the index cannot answer as asked (bad token, radius too large, bad field)."""


@dataclass
class CandidateDoc:
    """One candidate as the index stores it. ``doc_id`` is ``platform:item_id``."""

    platform: str
    item_id: str
    url: str = ""
    title: str = ""
    description: str = ""
    uploader: str = ""
    tags: list[str] = field(default_factory=list)
    published_at: dt.datetime | None = None
    found_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    clients: list[str] = field(default_factory=list)
    persons: list[str] = field(default_factory=list)
    matched: bool = False
    # {signal name: [serialized values]}: hex for Hamming signals, base64 float32 for faces.
    signals: dict[str, list[str]] = field(default_factory=dict)

    @property
    def doc_id(self) -> str:
        return f"{self.platform}:{self.item_id}"

    def validate(self) -> CandidateDoc:
        """Check signal values; raises :class:`BadQuery` naming the bad one."""
        for name, values in self.signals.items():
            for value in values:
                if name in HAMMING_SIGNALS:
                    hex_to_bits(name, value)
                elif name in EUCLIDEAN_SIGNALS:
                    decode_vector(value, name)
                else:
                    raise BadQuery(f"unknown signal {name!r}")
        return self

    def to_json(self) -> dict[str, Any]:
        # By hand: dataclasses.asdict deep-copies every value and costs 2 ms a document.
        return {
            "platform": self.platform, "item_id": self.item_id, "url": self.url,
            "title": self.title, "description": self.description, "uploader": self.uploader,
            "tags": list(self.tags), "published_at": iso(self.published_at),
            "found_at": iso(self.found_at), "clients": list(self.clients),
            "persons": list(self.persons), "matched": self.matched,
            "signals": {k: list(v) for k, v in self.signals.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CandidateDoc:
        names = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k in names}
        data["published_at"] = parse_time(data.get("published_at"))
        data["found_at"] = parse_time(data.get("found_at")) or dt.datetime.now(dt.UTC)
        return cls(**data)


@dataclass
class SearchFilters:
    """Filters of :meth:`CandidateIndex.search`; empty fields do not filter.

    ``since`` is inclusive and ``until`` exclusive, on ``date_field``.
    """

    platform: list[str] = field(default_factory=list)
    client: list[str] = field(default_factory=list)
    person: list[str] = field(default_factory=list)
    matched: bool | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    date_field: str = "found_at"
    doc_ids: list[str] | None = None


@dataclass
class SearchPage:
    hits: list[CandidateDoc]
    total: int
    next_token: str | None
    aggs: dict[str, list[tuple[str, int]]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "next": self.next_token,
            "hits": [dict(h.to_json(), doc_id=h.doc_id) for h in self.hits],
            "aggs": {k: [{"key": key, "count": n} for key, n in v] for k, v in self.aggs.items()},
        }


class CandidateIndex(ABC):
    """Where candidates are stored for search. See the module docstring for the semantics."""

    backend: str = ""

    @abstractmethod
    def add(self, docs: Sequence[CandidateDoc]) -> int:
        """Insert or replace documents (by ``doc_id``); returns how many were accepted."""

    @abstractmethod
    def get(self, doc_ids: Sequence[str]) -> list[CandidateDoc]:
        """The stored documents with these ids, in the order asked (unknown ids left out)."""

    @abstractmethod
    def count(self) -> int:
        """How many candidates are stored (after any pending refresh)."""

    @abstractmethod
    def radius_search(self, signal: str, hex_value: str, radius: int) -> list[tuple[str, int]]:
        """Every document with a value of ``signal`` within ``radius`` bits of ``hex_value``:
        ``(doc_id, smallest distance)`` sorted by distance then doc_id. Exact: none missed."""

    @abstractmethod
    def knn_face(self, embedding: str, k: int, max_distance: float) -> list[tuple[str, float]]:
        """The ``k`` documents whose nearest face is closest to ``embedding`` (base64 float32),
        no farther than ``max_distance``: ``(doc_id, distance)`` by distance then doc_id."""

    @abstractmethod
    def search(self, text: str = "", filters: SearchFilters | None = None,
               sort: str = "-found_at", size: int = 20, after: str | None = None,
               aggs: Sequence[str] = ()) -> SearchPage:
        """Full text plus filters, sorted (``field`` ascending, ``-field`` descending), paged
        with an opaque ``after`` token, with optional aggregations over all matching docs."""

    def refresh(self) -> None:
        """Make everything added so far searchable (no-op where that is immediate)."""
        return None

    def pending(self) -> int:
        """Documents accepted but still queued for an unreachable backend (0 where writes
        never queue)."""
        return 0

    def flush_queued(self) -> int:
        """Send what was queued while the backend was unreachable; returns how many were
        sent (0 where writes never queue). Raises IndexUnavailable if still unreachable."""
        return 0

    @contextlib.contextmanager
    def bulk_load(self) -> Iterator[None]:
        """A load of many documents (``likewatch index sync --full``): the backend may
        defer making them searchable until the end, when everything added is."""
        try:
            yield
        finally:
            self.refresh()

    def close(self) -> None:
        """Release connections and files."""
        return None

    def __enter__(self) -> CandidateIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- shared semantics ----------------------------------------------------------------

_CJK_RANGES = ("\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
               "\U00020000-\U0002ffff")
# One CJK character, or a run of word characters that are neither "_" nor CJK.
_TOKEN = re.compile(f"[{_CJK_RANGES}]|[^\\W_{_CJK_RANGES}]+")


def tokenize(text: str) -> list[str]:
    """Search tokens: NFKC, case-folded, each CJK/kana/hangul character alone, else
    runs of letters and digits. Punctuation, spaces and underscores separate tokens."""
    return _TOKEN.findall(unicodedata.normalize("NFKC", text).casefold())


def doc_terms(doc: CandidateDoc) -> list[str]:
    """The distinct tokens a document is found by (title, description, uploader, tags)."""
    parts = [doc.title, doc.description, doc.uploader, *doc.tags]
    return sorted(set(itertools.chain.from_iterable(tokenize(p) for p in parts)))


def iso(value: dt.datetime | None) -> str | None:
    return None if value is None else as_utc(value).isoformat().replace("+00:00", "Z")


def as_utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def parse_time(value: Any) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return as_utc(value)
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value / 1000, dt.UTC)
    return as_utc(dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")))


def to_millis(value: dt.datetime | None) -> int | None:
    return None if value is None else int(as_utc(value).timestamp() * 1000)


# Missing dates take these sort values, as Elasticsearch does for ``missing: _last``.
MISSING_LAST = {"asc": 2**63 - 1, "desc": -(2**63)}


MAX_PAGE = 10_000  # Elasticsearch's default max_result_window


def check_size(size: int) -> None:
    if not 1 <= size <= MAX_PAGE:
        raise BadQuery(f"page size must be between 1 and {MAX_PAGE}")


def parse_sort(sort: str) -> tuple[str, str]:
    """``"-found_at"`` -> ``("found_at", "desc")``; raises BadQuery for unknown fields."""
    name, order = (sort[1:], "desc") if sort.startswith("-") else (sort.lstrip("+"), "asc")
    if name not in SORT_FIELDS:
        raise BadQuery(f"cannot sort by {name!r}; choose one of {', '.join(SORT_FIELDS)}")
    return name, order


def encode_token(values: Sequence[Any]) -> str:
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, sort_name: str | None = None) -> list[Any]:
    """The ``[sort value, doc id]`` of an ``after`` token; BadQuery (a 400) for anything a
    tampered token may hold: wrong shape, a value of the wrong type for ``sort_name`` (a
    date sorts by integer milliseconds, text fields by strings), an integer out of range."""
    try:
        values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error, RecursionError) as exc:
        raise BadQuery("bad pagination token") from exc
    if not isinstance(values, list) or len(values) != 2:
        raise BadQuery("bad pagination token")
    value, doc_id = values
    if not isinstance(doc_id, str) or len(doc_id) > 512:
        raise BadQuery("bad pagination token")
    if sort_name is not None and sort_name.endswith("_at"):
        ok = type(value) is int and -(2**63) <= value < 2**63
    elif sort_name is not None:  # a text field (None: a document without it, sorted last)
        ok = value is None or (isinstance(value, str) and len(value) <= 4096)
    else:
        ok = value is None or isinstance(value, str) or (
            type(value) is int and -(2**63) <= value < 2**63)
    if not ok:
        raise BadQuery("bad pagination token")
    return values


def hex_to_bits(signal: str, hex_value: str) -> npt.NDArray[np.uint8]:
    """A Hamming signal value as packed bytes; raises BadQuery when malformed."""
    nbits = HAMMING_SIGNALS.get(signal)
    if nbits is None:
        raise BadQuery(f"{signal!r} is not a Hamming signal ({', '.join(HAMMING_SIGNALS)})")
    try:
        raw = bytes.fromhex(hex_value)
    except ValueError:
        raise BadQuery(f"{signal} value is not hex") from None
    if len(raw) * 8 != nbits:
        raise BadQuery(f"{signal} value has {len(raw) * 8} bits, expected {nbits}")
    return np.frombuffer(raw, dtype=np.uint8)


def hamming(query: npt.NDArray[np.uint8], rows: npt.NDArray[np.uint8],
            block: int = 16_384) -> npt.NDArray[np.int64]:
    """Hamming distances from ``query`` (packed bytes) to each row of ``rows``.

    Compares 64 bits at a time, in blocks that stay in the CPU cache: about 3x faster than
    one whole-array pass over bytes (the scan is bound by memory: docs/measurements.md)."""
    n, width = rows.shape
    out: npt.NDArray[np.int64] = np.empty(n, dtype=np.int64)
    if width % 8:
        out[:] = np.bitwise_count(np.bitwise_xor(rows, query)).sum(axis=1, dtype=np.int64)
        return out
    r64 = np.ascontiguousarray(rows).view(np.uint64)
    q64 = np.ascontiguousarray(query).view(np.uint64)
    for start in range(0, n, block):
        counts = np.bitwise_count(np.bitwise_xor(r64[start:start + block], q64))
        acc = counts[:, 0].astype(np.int16)
        for j in range(1, r64.shape[1]):
            acc += counts[:, j]
        out[start:start + block] = acc
    return out


def decode_vector(value: str, signal: str = "face") -> npt.NDArray[np.float32]:
    """A Euclidean signal value (base64 float32) as a vector; raises BadQuery when malformed."""
    dims = EUCLIDEAN_SIGNALS.get(signal)
    if dims is None:
        raise BadQuery(f"{signal!r} is not a Euclidean signal ({', '.join(EUCLIDEAN_SIGNALS)})")
    try:
        vec = np.frombuffer(base64.b64decode(value, validate=True), dtype="<f4")
    except (ValueError, binascii.Error):
        raise BadQuery(f"{signal} embedding is not base64 float32") from None
    if vec.shape != (dims,):
        raise BadQuery(f"{signal} embedding has {vec.size} numbers, expected {dims}")
    return vec


def face_distances(query: npt.NDArray[np.float32], rows: npt.NDArray[np.float32]) -> list[float]:
    """Euclidean distances, in float64, rounded to 6 decimals (the same on both backends)."""
    diff = rows.astype(np.float64) - query.astype(np.float64)
    return [round(float(d), 6) for d in np.sqrt(np.einsum("ij,ij->i", diff, diff))]


def chunk_terms(signal: str, hex_value: str) -> list[str]:
    """The position-prefixed 16-bit chunk terms a stored hash is indexed under."""
    nchars = CHUNK_BITS // 4
    return [f"{signal}:{i}:{hex_value[i * nchars:(i + 1) * nchars].lower()}"
            for i in range(len(hex_value) // nchars)]


def sorted_hits(best: dict[str, Any]) -> list[tuple[str, Any]]:
    """``{doc_id: distance}`` as a list ordered by distance, then doc_id."""
    return sorted(best.items(), key=lambda kv: (kv[1], kv[0]))


def min_by_doc(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    best: dict[str, Any] = {}
    for doc_id, d in pairs:
        if doc_id not in best or d < best[doc_id]:
            best[doc_id] = d
    return best
