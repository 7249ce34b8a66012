"""The Elasticsearch candidate index (the scale-out backend).

Writes: :meth:`ElasticsearchIndex.add` sends documents straight away while nothing is
queued, else puts them in the durable queue (:mod:`matchers.index.queue`) and drains it,
through :mod:`matchers.index.es_bulk`: bounded in-flight work (``threads`` requests of
``chunk_size`` actions), items refused with 429/5xx retried with exponential backoff,
connection failures leave the rest queued for the next :meth:`flush`. Face documents a
re-added candidate no longer has are deleted in the same bulk requests.

What each query guarantees:

- ``radius_search``: exact. Multi-index hashing over position-prefixed 16-bit chunk
  terms, requiring as many near chunks as a hash within the radius must have
  (:mod:`matchers.index.es_query` proves none is missed), every hit's stored values
  verified client-side, so none beyond it. A radius needing more than MAX_QUERY_TERMS
  terms (PDQ > 63, pHash > 19) falls back to verifying every stored value: still exact,
  as slow as a scan.
- ``knn_face``: exact. The ``dense_vector`` uses a flat (brute-force) index, so every
  vector is compared; distances are recomputed client-side from the stored value.
  At most 10,000 face vectors are considered per query (``num_candidates`` limit).
- ``search``: exact counts (``track_total_hits``); aggregations are exact on a
  one-shard index (candidates indices have one shard; roll over to grow).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import elasticsearch
import numpy as np
from elasticsearch import Elasticsearch
from elasticsearch import serializer as es_serializer

from matchers.index import es_bulk, es_compat, es_mappings, es_query
from matchers.index.base import (
    AGG_NAMES,
    BadQuery,
    CandidateDoc,
    CandidateIndex,
    IndexUnavailable,
    SearchFilters,
    SearchPage,
    check_size,
    decode_vector,
    face_distances,
    hamming,
    hex_to_bits,
    min_by_doc,
    parse_sort,
    sorted_hits,
)
from matchers.index.queue import IngestQueue

log = logging.getLogger(__name__)

_UNAVAILABLE = (elasticsearch.ConnectionError, elasticsearch.ConnectionTimeout)
_RETRY_STATUS = {429, 502, 503, 504}
PAGE = 10_000


class ElasticsearchIndex(CandidateIndex):
    backend = "elasticsearch"

    def __init__(self, url: str, *, prefix: str = "likewatch", queue_path: Path | str | None = None,
                 threads: int = 2, chunk_size: int = 5000, request_timeout: float = 30.0,
                 retries: int = 5) -> None:
        self.url = url
        # Several nodes, comma-separated (the elasticsearch_url setting): a request a node
        # cannot take (stopped, unreachable) goes to the next one.
        hosts = [u.strip() for u in url.split(",") if u.strip()]
        self.prefix = prefix
        extra: dict[str, Any] = {}
        if hasattr(es_serializer, "OrjsonSerializer"):  # orjson: bulk bodies 4x cheaper
            extra["serializer"] = es_serializer.OrjsonSerializer()
        # CompatNode: 8.x servers (Java 17 machines) are asked for their own API version.
        self.es = Elasticsearch(hosts, request_timeout=request_timeout, max_retries=1,
                                retry_on_timeout=False, node_class=es_compat.CompatNode,
                                **extra)
        self.alias = {f: f"{prefix}-{f}" for f in es_mappings.FAMILIES}
        self.queue = IngestQueue(queue_path) if queue_path else None
        self.threads, self.chunk_size, self.retries = threads, chunk_size, retries
        self._ready = False
        self._flush_lock = threading.Lock()
        self._retry_at, self._backoff = 0.0, 0.0
        self.page = PAGE  # hits per request of a radius lookup (smaller in tests)
        self._size, self._size_at = 0, 0.0

    # --- setup ---------------------------------------------------------------------
    def server_version(self) -> str:
        """The node's version (``GET /`` answers 405 on the test node: ask the nodes API)."""
        info = self._call(self.es.nodes.info, node_id="_local", metric="_none")
        return str(next(iter(info["nodes"].values()))["version"])

    def ensure_setup(self) -> None:
        """Install the index templates and bootstrap ``<alias>-000001`` behind each alias."""
        if self._ready:
            return
        for family, alias in self.alias.items():
            self._call(self.es.indices.put_index_template, name=alias,
                       **es_mappings.template_body(self.prefix, family))
            if not self._call(self.es.indices.exists_alias, name=alias):
                try:
                    self._call(self.es.indices.create, index=f"{alias}-000001",
                               aliases={alias: {"is_write_index": True}})
                except elasticsearch.BadRequestError as exc:
                    if exc.error != "resource_already_exists_exception":
                        raise
            mappings = self._call(self.es.indices.get_mapping, index=alias)
            for name, body in dict(mappings).items():
                version = body["mappings"].get("_meta", {}).get("version", 1)
                if version < es_mappings.TEMPLATE_VERSION:  # still answered (both read)
                    log.warning("%s has mapping version %s (current %s): drop it and run "
                                "`likewatch index sync --full` for the faster mapping",
                                name, version, es_mappings.TEMPLATE_VERSION)
        self._ready = True
        self._heal_refresh()

    def drop(self) -> None:
        """Delete this prefix's indices and templates (tests and benchmarks)."""
        for alias in self.alias.values():
            indices = self.es.options(ignore_status=404).indices.get_alias(name=alias)
            for name in dict(indices.body) if indices.meta.status == 200 else {}:
                self.es.indices.delete(index=name)
            self.es.options(ignore_status=404).indices.delete_index_template(name=alias)
        self._ready = False

    def _call(self, fn: Any, **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except _UNAVAILABLE as exc:
            raise IndexUnavailable(f"Elasticsearch at {self.url} unreachable: {exc}") from exc
        except elasticsearch.ApiError as exc:
            if exc.meta.status in _RETRY_STATUS:
                raise IndexUnavailable(f"Elasticsearch at {self.url}: {exc}") from exc
            raise

    # --- writes --------------------------------------------------------------------
    def add(self, docs: Sequence[CandidateDoc]) -> int:
        """Queue durably (when a queue is configured) then send; never loses a document."""
        docs = [d.validate() for d in docs]
        if self.queue is None:
            self.add_now(docs)
            return len(docs)
        if time.monotonic() >= self._retry_at and self._send_direct(docs):
            return len(docs)
        self.queue.put(docs)
        if time.monotonic() < self._retry_at:
            return len(docs)  # the cluster was down a moment ago: just queue
        try:
            self.flush()
            self._backoff = 0.0
        except IndexUnavailable as exc:
            self._backoff = min(max(2 * self._backoff, 1.0), 30.0)
            self._retry_at = time.monotonic() + self._backoff
            log.warning("index unavailable, %d candidates queued, next try in %.0fs: %s",
                        len(self.queue), self._backoff, exc)
        return len(docs)

    def _send_direct(self, docs: Sequence[CandidateDoc]) -> bool:
        """With nothing queued, send straight away (half the work of queue-then-send) and
        return True once the cluster acknowledged every document. False (nothing sent, or
        not all of it) means: queue them. Either way add() returns only after each document
        is acknowledged or queued, so none is lost; the queue keeps the order when in use."""
        assert self.queue is not None
        with self._flush_lock:
            if len(self.queue):
                return False
            try:
                rejected = self.add_now(docs)
            except IndexUnavailable:
                return False
            for d in docs:
                if d.doc_id in rejected:
                    self.queue.dead_letter(None, d, rejected.pop(d.doc_id))
            return True

    def replay(self, timeout: float = 120.0) -> int:
        """Flush the queue, retrying while the cluster comes back, until empty or
        ``timeout`` seconds have passed (then IndexUnavailable); returns how many were sent."""
        deadline = time.monotonic() + timeout
        sent, delay = 0, 0.5
        while True:
            try:
                sent += self.flush()
                self._retry_at = 0.0
                return sent
            except IndexUnavailable:
                if time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def flush(self, batch: int = 5000) -> int:
        """Send everything queued, oldest first; returns how many were sent.
        Raises IndexUnavailable (the rest stays queued) when the cluster is down."""
        if self.queue is None:
            return 0
        sent = 0
        with self._flush_lock:
            if len(self.queue) and self._ready:
                # After a restart the shards recover first; writes before that time out.
                self._call(self.es.cluster.health, index=",".join(self.alias.values()),
                           wait_for_status="yellow", timeout="30s")
            while items := self.queue.peek(batch):
                rejected = self.add_now([d for _, d in items])
                by_id = {d.doc_id: (seq, d) for seq, d in items}
                for doc_id, error in rejected.items():
                    self.queue.dead_letter(*by_id[doc_id], error)
                self.queue.ack([seq for seq, d in items if d.doc_id not in rejected])
                sent += len(items) - len(rejected)
        return sent

    def pending(self) -> int:
        return len(self.queue) if self.queue else 0

    def flush_queued(self) -> int:
        return self.flush() if self.pending() else 0

    def add_now(self, docs: Sequence[CandidateDoc]) -> dict[str, str]:
        """Bulk-send now, retrying refused items; returns {doc_id: error} of documents
        refused for good. Raises IndexUnavailable if the cluster cannot be reached."""
        self.ensure_setup()
        # Chunks are sent concurrently: keep only the last version of a document so an
        # older one cannot land after it.
        latest = list({d.doc_id: d for d in docs}.values())
        pending: Iterable[es_bulk.Item] = itertools.chain(
            es_bulk.stale_faces(functools.partial(self._call, self.es.search),
                                 self.alias["signals"], latest, PAGE),
            es_bulk.doc_items(latest, self.alias["candidates"], self.alias["signals"]))
        rejected: dict[str, str] = {}
        for attempt in range(self.retries + 1):
            retry, refused = es_bulk.send(self.es, pending, threads=self.threads,
                                          chunk_size=self.chunk_size,
                                          on_error=self._bulk_error)
            rejected.update(refused)
            if not retry:
                return rejected
            pending = retry
            time.sleep(min(0.2 * 2 ** attempt, 5.0))
        raise IndexUnavailable(f"{len(retry)} actions still refused after {self.retries} retries")

    def _bulk_error(self, exc: BaseException) -> BaseException | None:
        """What a failed bulk request means: None (send it again) for 429/5xx."""
        if isinstance(exc, _UNAVAILABLE):
            return IndexUnavailable(f"Elasticsearch at {self.url} unreachable: {exc}")
        if isinstance(exc, elasticsearch.ApiError) and exc.meta.status in _RETRY_STATUS:
            return None
        return exc

    def alias_of(self, index: str) -> str:
        """``likewatch-candidates-000001`` -> ``likewatch-candidates``."""
        for alias in self.alias.values():
            if index.startswith(alias + "-"):
                return alias
        return index

    def refresh(self) -> None:
        self.ensure_setup()
        self._call(self.es.indices.refresh, index=",".join(self.alias.values()))

    @contextlib.contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Periodic refresh off during the load, back on (and one refresh) at the end:
        Elasticsearch's advice for bulk loads, which halved the node's CPU per candidate
        (deploy/elasticsearch/README.md). A process killed mid-load leaves it off; the
        next ``ensure_setup`` of any process puts it back (``_heal_refresh``)."""
        self.ensure_setup()
        names = ",".join(self.alias.values())
        self._set_refresh(names, "-1")
        try:
            yield
        finally:
            self._set_refresh(names, es_mappings.SETTINGS["refresh_interval"])
            self.refresh()

    def _set_refresh(self, names: str, interval: str) -> None:
        self._call(self.es.indices.put_settings, index=names,
                   settings={"refresh_interval": interval})

    def _heal_refresh(self) -> None:
        """Put back the periodic refresh a killed bulk load left off."""
        names = ",".join(self.alias.values())
        got = self._call(self.es.indices.get_settings, index=names, name="index.refresh_interval")
        off = [n for n, body in dict(got).items()
               if body.get("settings", {}).get("index", {}).get("refresh_interval") == "-1"]
        if off:
            log.warning("periodic refresh was off on %s (a bulk load did not finish): "
                        "turning it back on", ",".join(off))
            self._set_refresh(",".join(off), es_mappings.SETTINGS["refresh_interval"])

    # --- reads ---------------------------------------------------------------------
    def count(self) -> int:
        self.refresh()
        return int(self._call(self.es.count, index=self.alias["candidates"])["count"])

    def get(self, doc_ids: Sequence[str]) -> list[CandidateDoc]:
        if not doc_ids:
            return []
        self.ensure_setup()
        found: dict[str, CandidateDoc] = {}
        for i in range(0, len(doc_ids), PAGE):
            part = list(doc_ids[i:i + PAGE])
            res = self._call(self.es.search, index=self.alias["candidates"], size=len(part),
                             query={"terms": {"doc_id": part}},
                             source_excludes=es_mappings.SOURCE_EXCLUDES)
            for hit in res["hits"]["hits"]:
                doc = CandidateDoc.from_json(hit["_source"])
                found[doc.doc_id] = doc
        return [found[i] for i in doc_ids if i in found]

    def radius_search(self, signal: str, hex_value: str, radius: int) -> list[tuple[str, int]]:
        query = hex_to_bits(signal, hex_value)
        if radius < 0:
            raise BadQuery("radius must be >= 0")
        self.ensure_setup()
        field = f"hashes.{signal}"
        # A radius too wide for chunk terms: verify every stored value (still exact).
        lookup = (es_query.radius_query(signal, hex_value, radius, self._size_estimate())
                  or {"exists": {"field": field}})
        ids: list[str] = []
        values: list[bytes] = []
        search = functools.partial(self._call, self.es.search)
        for fields in es_query.scan_fields(search, self.alias["candidates"], lookup,
                                           ["doc_id", field], self.page):
            doc_id = fields["doc_id"][0]
            for v in fields.get(field, []):
                ids.append(doc_id)
                values.append(es_query.decode_hash(signal, v))
        if not ids:
            return []
        rows = np.frombuffer(b"".join(values), dtype=np.uint8).reshape(len(ids), query.size)
        dist = hamming(query, rows)
        return sorted_hits(min_by_doc((ids[i], int(d)) for i, d in enumerate(dist)
                                      if d <= radius))

    def _size_estimate(self) -> int:
        """About how many candidates the index holds (to plan radius lookups): counted
        at most once a minute."""
        now = time.monotonic()
        if now >= self._size_at:
            self._size = int(self._call(self.es.count, index=self.alias["candidates"])["count"])
            self._size_at = now + 60.0
        return self._size

    def knn_face(self, embedding: str, k: int, max_distance: float) -> list[tuple[str, float]]:
        query = decode_vector(embedding)
        self.ensure_setup()
        want = min(PAGE, max(4 * k, 10))
        while True:
            res = self._call(
                self.es.search, index=self.alias["signals"], size=want, stored_fields="_none_",
                knn={"field": "embedding", "query_vector": query.tolist(), "k": want,
                     "num_candidates": want, "similarity": max_distance + 1e-4,
                     "filter": {"term": {"signal": "face"}}},
                docvalue_fields=["cid", "value"])
            hits = res["hits"]["hits"]
            values = [(h["fields"]["cid"][0], h["fields"]["value"][0]) for h in hits]
            # Face documents a re-added candidate no longer has are deleted with its new
            # version; until that write is done (or if it was refused) keep only values
            # the candidate has now.
            current = {d.doc_id: set(d.signals.get("face", []))
                       for d in self.get(list(dict.fromkeys(c for c, _ in values)))}
            values = [(c, v) for c, v in values if v in current.get(c, ())]
            rows = (np.stack([decode_vector(v) for _, v in values]) if values
                    else np.zeros((0, query.size), dtype=np.float32))
            dist = face_distances(query, rows)
            best = min_by_doc((values[i][0], d) for i, d in enumerate(dist) if d <= max_distance)
            if len(best) >= k or len(hits) < want or want >= PAGE:
                return sorted_hits(best)[:k]
            want = min(PAGE, want * 4)

    def search(self, text: str = "", filters: SearchFilters | None = None,
               sort: str = "-found_at", size: int = 20, after: str | None = None,
               aggs: Sequence[str] = ()) -> SearchPage:
        f = filters or SearchFilters()
        name, order = parse_sort(sort)
        check_size(size)
        for a in aggs:
            if a not in AGG_NAMES:
                raise BadQuery(f"unknown aggregation {a!r}; choose from {', '.join(AGG_NAMES)}")
        self.ensure_setup()
        res = self._call(self.es.search, index=self.alias["candidates"],
                         source_excludes=es_mappings.SOURCE_EXCLUDES,
                         **es_query.search_body(text, f, name, order, size, after, aggs))
        return es_query.search_page(res, name, order, size, aggs)

    def close(self) -> None:
        self.es.close()
        if self.queue:
            self.queue.close()
