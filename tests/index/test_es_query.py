"""Radius lookups on Elasticsearch: the chunk-count bound they rely on, the plan chosen
for small and large indices, and both plans' answers against a brute-force scan."""

from __future__ import annotations

import base64
import copy
import logging
import random

import numpy as np
import pytest

from matchers.index import es_bulk, es_mappings, es_query
from matchers.index.base import CHUNK_BITS, HAMMING_SIGNALS, BadQuery
from tests.index.data import flip, make_docs
from tests.index.test_contract import expected_radius

DOCS, QUERY = make_docs()


def chunk_distances(a: bytes, b: bytes) -> list[int]:
    x = np.unpackbits(np.bitwise_xor(np.frombuffer(a, np.uint8), np.frombuffer(b, np.uint8)))
    return [int(c) for c in x.reshape(-1, CHUNK_BITS).sum(axis=1)]


@pytest.mark.parametrize("signal", ["pdq", "phash"])
def test_every_hash_within_the_radius_has_the_required_near_chunks(signal: str) -> None:
    rng = random.Random(3)
    nbits = HAMMING_SIGNALS[signal]
    nchunks = nbits // CHUNK_BITS
    for _ in range(2000):
        a = rng.randbytes(nbits // 8)
        radius = rng.randrange(0, nbits // 2)
        b = bytes.fromhex(flip(a.hex(), rng.randrange(0, radius + 1), rng))
        d = chunk_distances(a, b)
        for s in range(radius // nchunks, radius // nchunks + 3):
            assert sum(x <= s for x in d) >= es_query.required(nchunks, radius, s)
            # The worst case: s + 1 bits flipped in as many chunks as the radius allows.
            worst = [s + 1] * min(nchunks, radius // (s + 1))
            worst += [0] * (nchunks - len(worst))
            assert sum(x <= s for x in worst) == max(es_query.required(nchunks, radius, s), 0)


def test_plan_sends_more_terms_only_when_it_saves_fetching() -> None:
    # PDQ r = 31: s = 1 (272 terms, any one near chunk) on a small index; at 1,000,000
    # candidates s = 2 (2,192 terms, 6 of 16 positions) so random hashes are not fetched.
    assert es_query.plan("pdq", 31, 1_000) == (1, 1)
    assert es_query.plan("pdq", 31, 1_000_000) == (2, 6)
    assert es_query.plan("phash", 7, 1_000_000) == (2, 2)
    assert es_query.plan("pdq", 0, 1_000_000)[1] == 16  # distance 0: every chunk equal
    assert es_query.plan("pdq", 200, 1_000) is None  # too wide for chunk terms
    with pytest.raises(BadQuery):
        es_query.plan("pdq", -1, 10)


def test_stored_hashes_decode_from_either_mapping_version() -> None:
    value = QUERY["pdq"]
    raw = bytes.fromhex(value)
    assert es_query.decode_hash("pdq", value) == raw  # version 1: hex keyword
    assert es_query.decode_hash("pdq", es_query.encode_hash(value)) == raw  # version 2
    assert es_query.encode_hash(value) == base64.b64encode(raw).decode()
    ph = QUERY["phash"]
    assert es_query.decode_hash("phash", es_query.encode_hash(ph)).hex() == ph


@pytest.mark.parametrize("size", [1, 10**9], ids=["few-terms", "many-terms"])
def test_both_plans_are_exact(es_index, size: int) -> None:
    es_index.add(DOCS)
    es_index.refresh()
    es_index._size, es_index._size_at = size, float("inf")  # the size the plan assumes
    for signal, radius in (("pdq", 0), ("pdq", 15), ("pdq", 31), ("pdq", 47), ("pdq", 63),
                           ("phash", 3), ("phash", 7), ("phash", 12), ("face_pdq", 31)):
        query = QUERY["pdq" if signal == "face_pdq" else signal]
        assert es_index.radius_search(signal, query, radius) == expected_radius(
            signal, query, radius), (signal, radius)


def test_an_index_of_mapping_version_1_still_answers(es_index, caplog) -> None:
    """Hashes stored as hex keywords (version 1) and as base64 binary (version 2) are read
    alike: an index created before the change keeps working until it is rebuilt."""
    v1 = copy.deepcopy(es_mappings.CANDIDATES_MAPPINGS)
    v1["_meta"] = {"version": 1}
    v1["properties"]["hashes"] = {"properties": {
        name: {"type": "keyword", "index": False, "doc_values": True} for name in HAMMING_SIGNALS}}
    alias = es_index.alias["candidates"]
    es_index.es.indices.create(index=f"{alias}-000001", mappings=v1,
                               aliases={alias: {"is_write_index": True}})
    old = DOCS[:20]  # written by version-1 code: hex values
    for d in old:
        source = es_bulk.candidate_source(d)
        source["hashes"] = {k: [v.lower() for v in d.signals[k]] for k in source["hashes"]}
        es_index.es.index(index=alias, id=d.doc_id, document=source)
    with caplog.at_level(logging.WARNING):
        es_index.add(DOCS[20:])  # written now: base64 into the same keyword fields
    assert "mapping version 1" in caplog.text
    es_index.refresh()
    for signal, radius in (("pdq", 31), ("pdq", 63), ("phash", 7), ("phash", 30)):
        query = QUERY[signal]
        got = es_index.radius_search(signal, query, radius)
        assert got == expected_radius(signal, query, radius), (signal, radius)
