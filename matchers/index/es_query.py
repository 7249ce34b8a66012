"""The bodies of Elasticsearch queries: exact Hamming-radius lookups (which chunk terms to
ask for, and how many of a candidate's chunk positions must match before it is worth
fetching), and analysts' searches (``search_body``, ``search_page``: filters, sort,
``search_after`` paging, aggregations).

A hash of ``n`` chunks (16 bits each, position-prefixed terms ``pdq:3:ab12``) at Hamming
distance ``d <= r`` from the query splits ``d`` over its chunks. For any ``s >= 0``, let
``k`` be the number of its chunks that differ from the query's chunk at the same position
in more than ``s`` bits: then ``k * (s + 1) <= d <= r``, so ``k <= r // (s + 1)`` and at
least ``m = n - r // (s + 1)`` of its chunks are within ``s`` bits of the query's. The
lookup is one ``terms`` clause per position (every 16-bit value within ``s`` bits of the
query's chunk there) in a ``bool`` that requires ``m`` of the ``n`` clauses: no hash within
``r`` is missed. Each candidate found is then checked exactly on the client, so nothing
beyond ``r`` is returned.

``s = r // n`` (the smallest, where ``m`` may be 1) sends the fewest terms but lets through
every candidate sharing one near chunk: ~4,100 random candidates out of 1,000,000 for PDQ
at r = 31, whose values must all be fetched. ``s + 1`` sends more terms (2,192 instead of
272) but requires 6 of 16 positions, which random candidates essentially never meet, so
only the near duplicates are fetched. :func:`plan` picks ``s`` by the estimated cost of
both parts for the index size.
"""

from __future__ import annotations

import base64
import itertools
import math
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from matchers.index.base import (
    AGG_SIZES,
    CHUNK_BITS,
    HAMMING_SIGNALS,
    MAX_QUERY_TERMS,
    MISSING_LAST,
    BadQuery,
    CandidateDoc,
    SearchFilters,
    SearchPage,
    decode_token,
    encode_token,
    hex_to_bits,
    to_millis,
    tokenize,
)

# Relative costs in the node, measured at 1,000,000 candidates (README figures): looking
# up one term versus fetching the doc values of one candidate.
TERM_COST = 1.0
HIT_COST = 2.0


@cache
def _flips(s: int) -> tuple[int, ...]:
    """Every 16-bit mask with at most ``s`` bits set."""
    out = [0]
    for k in range(1, s + 1):
        out += [sum(1 << b for b in combo) for combo in itertools.combinations(range(CHUNK_BITS), k)]
    return tuple(out)


def _variants(s: int) -> int:
    return sum(math.comb(CHUNK_BITS, k) for k in range(s + 1))


def required(nchunks: int, radius: int, s: int) -> int:
    """How many of ``nchunks`` positions a hash within ``radius`` has within ``s`` bits."""
    return nchunks - radius // (s + 1)


def expected_hits(nchunks: int, radius: int, s: int, docs: int) -> float:
    """Random candidates (of ``docs``) expected to pass the chunk lookup."""
    p = _variants(s) / 2 ** CHUNK_BITS
    m = required(nchunks, radius, s)
    tail = sum(math.comb(nchunks, j) * p ** j * (1 - p) ** (nchunks - j)
               for j in range(m, nchunks + 1))
    return float(docs * tail)


def plan(signal: str, radius: int, docs: int) -> tuple[int, int] | None:
    """``(s, m)`` for a lookup at ``radius`` in an index of about ``docs`` candidates, or
    None when even the smallest ``s`` needs more than MAX_QUERY_TERMS terms."""
    if radius < 0:
        raise BadQuery("radius must be >= 0")
    nchunks = HAMMING_SIGNALS[signal] // CHUNK_BITS
    best: tuple[float, int] | None = None
    smallest = radius // nchunks
    for s in (smallest, smallest + 1):
        terms = nchunks * _variants(s)
        if s > CHUNK_BITS or terms > MAX_QUERY_TERMS:
            continue
        cost = TERM_COST * terms + HIT_COST * expected_hits(nchunks, radius, s, docs)
        if best is None or cost < best[0]:
            best = (cost, s)
    if best is None:
        return None
    return best[1], required(nchunks, radius, best[1])


def radius_query(signal: str, hex_value: str, radius: int, docs: int) -> dict[str, Any] | None:
    """The ``bool`` query finding every candidate with a ``signal`` value within ``radius``
    of ``hex_value`` (and a few more, to be verified); None when the radius is too wide for
    chunk terms (then every stored value has to be verified)."""
    hex_to_bits(signal, hex_value)
    chosen = plan(signal, radius, docs)
    if chosen is None:
        return None
    s, m = chosen
    nchars = CHUNK_BITS // 4
    hex_value = hex_value.lower()
    clauses = []
    for i in range(len(hex_value) // nchars):
        value = int(hex_value[i * nchars:(i + 1) * nchars], 16)
        clauses.append({"terms": {"hash_chunks": [f"{signal}:{i}:{value ^ f:04x}"
                                                  for f in _flips(s)]}})
    return {"bool": {"should": clauses, "minimum_should_match": m}}


def decode_hash(signal: str, value: str) -> bytes:
    """A stored hash as bytes: base64 (binary doc values, mapping version 2) or hex
    (keyword doc values, version 1). The two lengths differ for every Hamming signal."""
    nbytes = HAMMING_SIGNALS[signal] // 8
    if len(value) == 2 * nbytes:
        return bytes.fromhex(value)
    return base64.b64decode(value)


def encode_hash(hex_value: str) -> str:
    """A hex hash as the base64 string its binary doc value is sent as."""
    return base64.b64encode(bytes.fromhex(hex_value)).decode("ascii")


# --- analysts' searches ----------------------------------------------------------------
SORT_FIELDS = {"found_at": "found_at", "published_at": "published_at",
               "uploader": "uploader.keyword", "platform": "platform"}


def filter_clauses(text: str, f: SearchFilters) -> list[dict[str, Any]]:
    """Every word of ``text`` (as tokenized for the ``terms`` field) and every filter."""
    clauses: list[dict[str, Any]] = [{"term": {"terms": t}}
                                     for t in dict.fromkeys(tokenize(text))]
    for name, values in (("platform", f.platform), ("clients", f.client),
                         ("persons", f.person)):
        if values:
            clauses.append({"terms": {name: list(values)}})
    if f.matched is not None:
        clauses.append({"term": {"matched": f.matched}})
    if f.date_field not in ("found_at", "published_at"):
        raise BadQuery("date_field must be found_at or published_at")
    bounds = {}
    if f.since is not None:
        bounds["gte"] = to_millis(f.since)
    if f.until is not None:
        bounds["lt"] = to_millis(f.until)
    if bounds:
        clauses.append({"range": {f.date_field: dict(bounds, format="epoch_millis")}})
    if f.doc_ids is not None:
        clauses.append({"terms": {"doc_id": list(f.doc_ids)}})
    return clauses


def agg_body(name: str) -> dict[str, Any]:
    if name == "day":
        return {"date_histogram": {"field": "found_at", "calendar_interval": "day",
                                   "format": "yyyy-MM-dd", "min_doc_count": 1,
                                   "time_zone": "UTC"}}
    terms: dict[str, Any] = {"field": "platform" if name == "platform" else "uploader.keyword",
                             "size": AGG_SIZES[name], "shard_size": 10 * AGG_SIZES[name],
                             "order": [{"_count": "desc"}, {"_key": "asc"}]}
    if name == "uploader":
        terms["exclude"] = [""]
    return {"terms": terms}


def search_body(text: str, f: SearchFilters, name: str, order: str, size: int,
                after: str | None, aggs: Sequence[str]) -> dict[str, Any]:
    """The search request: filters, sort on ``name`` then doc id, one page, aggregations."""
    body: dict[str, Any] = {
        "query": {"bool": {"filter": filter_clauses(text, f)}},
        "sort": [{SORT_FIELDS[name]: {"order": order, "missing": "_last"}},
                 {"doc_id": "asc"}],
        "size": size, "track_total_hits": True,
        "aggs": {a: agg_body(a) for a in aggs},
    }
    if after:
        body["search_after"] = decode_token(after, name)
    return body


def search_page(res: dict[str, Any], name: str, order: str, size: int,
                aggs: Sequence[str]) -> SearchPage:
    """The page of a ``search_body`` response, with the token of the next page if full."""
    hits = res["hits"]["hits"]
    docs = [CandidateDoc.from_json(h["_source"]) for h in hits]
    token = None
    if hits and len(hits) == size:
        value, last_id = hits[-1]["sort"]
        if name.endswith("_at") and value is None:
            value = MISSING_LAST[order]
        token = encode_token([value, last_id])
    out = {}
    for a in aggs:
        buckets = res["aggregations"][a]["buckets"]
        key = "key_as_string" if a == "day" else "key"
        out[a] = [(str(b[key]), int(b["doc_count"])) for b in buckets][:AGG_SIZES[a]]
    return SearchPage(docs, int(res["hits"]["total"]["value"]), token, out)


def scan_fields(search: Callable[..., Any], index: str, query: dict[str, Any],
                fields: list[str], page: int) -> list[dict[str, Any]]:
    """The doc-value ``fields`` of every document of ``index`` matching ``query``
    (``search``: the client's search, through the caller's error handling).

    One unsorted request first (most lookups match far fewer than ``page`` documents, and
    skipping the sort saves a fifth of the time); only a full page is redone sorted by doc
    id and paged with search_after, so no hit is missed."""
    common: dict[str, Any] = {
        "index": index, "query": query, "size": page,
        # No stored fields (_id, _source): a 5x faster fetch phase.
        "stored_fields": "_none_", "docvalue_fields": fields, "track_total_hits": False,
        "filter_path": "hits.hits.fields,hits.hits.sort"}
    hits = search(**common).get("hits", {}).get("hits", [])
    if len(hits) < page:
        return [h["fields"] for h in hits]
    out: list[dict[str, Any]] = []
    after: list[Any] | None = None
    while True:
        res = search(**common, sort=[{"doc_id": "asc"}], search_after=after)
        hits = res.get("hits", {}).get("hits", [])
        out += [h["fields"] for h in hits]
        if len(hits) < page:
            return out
        after = hits[-1]["sort"]
