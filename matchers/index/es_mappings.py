"""Elasticsearch index templates for the two index families, candidates and signals.

Each family is written through an alias (``likewatch-candidates``, ``likewatch-signals``)
whose first index is ``<alias>-000001``: rollover-friendly names, so the rollover API
(server core, no ILM needed) can add ``-000002`` when an index grows too big.

Only server-core features are used (the test node has no Painless, ILM, ingest
processors or ICU). The JSON copies in deploy/elasticsearch/ are generated from this
module (``python -m matchers.index.es_mappings deploy/elasticsearch``); a test checks they
agree.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from matchers.index.base import EUCLIDEAN_SIGNALS, HAMMING_SIGNALS

#: Version 2 (ingest 1.5-2x cheaper for the node, measured in deploy/elasticsearch/README.md):
#: hashes as binary doc values (were high-cardinality keywords), the text fields kept in
#: _source only (text search uses ``terms``), no _source excludes (filtering the source of
#: every document on the way in cost more than storing the lookup fields). Readers handle
#: both versions (:func:`matchers.index.es_query.decode_hash`), so an index created from
#: version 1 keeps working; a rebuild (drop it, ``likewatch index sync --full``) gives it
#: the cheaper mapping. The version is also in each index's mapping ``_meta``.
TEMPLATE_VERSION = 2
FAMILIES = ("candidates", "signals")

_KEYWORD = {"type": "keyword"}
_STORED_ONLY = {"type": "keyword", "index": False, "doc_values": True}
# Kept in _source for display; not indexed (text search goes through ``terms``).
_TEXT_SOURCE_ONLY = {"type": "text", "index": False}

CANDIDATES_MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"version": TEMPLATE_VERSION},
    # No _source excludes: terms, hashes and hash_chunks are stored in _source too, and
    # left out when reading (``SOURCE_EXCLUDES``).
    "properties": {
        "doc_id": _KEYWORD,
        "platform": _KEYWORD,
        "item_id": _KEYWORD,
        "url": {"type": "keyword", "index": False, "doc_values": False},
        "title": _TEXT_SOURCE_ONLY,
        "description": _TEXT_SOURCE_ONLY,
        # No ignore_above: uploader.keyword is a sort key and must exist on every doc.
        "uploader": {"type": "text", "index": False, "fields": {"keyword": _KEYWORD}},
        "tags": _TEXT_SOURCE_ONLY,
        "published_at": {"type": "date"},
        "found_at": {"type": "date"},
        "clients": _KEYWORD,
        "persons": _KEYWORD,
        "matched": {"type": "boolean"},
        # Tokens of matchers.index.base.tokenize: the text match shared with the embedded store.
        "terms": {"type": "keyword", "doc_values": False},
        # Hamming signals: exact values (base64, read back from doc values to verify) and
        # their chunk terms. Binary doc values: direct lookups, no terms dictionary.
        "hashes": {"properties": {name: {"type": "binary", "doc_values": True}
                                  for name in HAMMING_SIGNALS}},
        "hash_chunks": {"type": "keyword", "doc_values": False},
        # Every signal value as given (faces too), kept in _source only.
        "signals": {"type": "object", "enabled": False},
    },
}

#: Fields of the candidates' _source that are for lookups only.
SOURCE_EXCLUDES = ["doc_id", "terms", "hashes", "hash_chunks"]

SIGNALS_MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"version": TEMPLATE_VERSION},
    "_source": {"excludes": ["embedding"]},
    "properties": {
        "cid": _KEYWORD,
        "signal": _KEYWORD,
        "value": _STORED_ONLY,
        "found_at": {"type": "date"},
        # Flat (brute-force) index: kNN is exact, unlike HNSW which misses near duplicates.
        "embedding": {
            "type": "dense_vector",
            "dims": EUCLIDEAN_SIGNALS["face"],
            "element_type": "float",
            "similarity": "l2_norm",
            "index": True,
            "index_options": {"type": "flat"},
        },
    },
}

SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,
    # One replica as soon as a second node is there (none on a single node, which stays
    # green): a cluster keeps every document readable and writable with a node down.
    "auto_expand_replicas": "0-1",
    "refresh_interval": "1s",
}


def template_body(prefix: str, family: str) -> dict[str, Any]:
    """The composable index template for ``<prefix>-<family>-*``."""
    mappings = CANDIDATES_MAPPINGS if family == "candidates" else SIGNALS_MAPPINGS
    return {
        "index_patterns": [f"{prefix}-{family}-*"],
        "priority": 200,
        "version": TEMPLATE_VERSION,
        "_meta": {"owner": "likewatch", "family": family},
        "template": {"settings": SETTINGS, "mappings": mappings},
    }


def write_json(folder: Path, prefix: str = "likewatch") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for family in FAMILIES:
        path = folder / f"{prefix}-{family}.template.json"
        path.write_text(json.dumps(template_body(prefix, family), indent=2) + "\n",
                        encoding="utf-8")
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in write_json(Path(sys.argv[1] if len(sys.argv) > 1 else "deploy/elasticsearch")):
        print(p)
