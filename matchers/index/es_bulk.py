"""Bulk writes to Elasticsearch: documents as ready-made NDJSON lines, sent in chunks by
a few threads.

Cheaper than ``helpers.parallel_bulk`` for the client (measured in bench/index.py): each
document is serialised once with orjson, straight into the lines of the request body (the
helper expands every action into a header and a body dict and serialises both through
the transport), and a chunk's body is one ``bytes`` the transport forwards untouched.
The main thread builds the next chunk while ``threads`` others wait on the node, at
most ``threads`` chunks in flight.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson
from elasticsearch import Elasticsearch

from matchers.index.base import HAMMING_SIGNALS, CandidateDoc, decode_vector, doc_terms
from matchers.index.es_query import encode_hash

#: Bulk items with these statuses are sent again (the node was busy or restarting).
RETRY_STATUS = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class Item:
    """One bulk action: the candidate it belongs to and its NDJSON lines."""

    doc_id: str
    lines: bytes


def candidate_source(doc: CandidateDoc) -> dict[str, Any]:
    """The candidates-index document: the candidate's fields plus what lookups need."""
    source = doc.to_json()
    hashes: dict[str, list[str]] = {}
    chunks: list[str] = []
    for name, values in doc.signals.items():
        if name in HAMMING_SIGNALS and values:
            unique = list(dict.fromkeys(v.lower() for v in values))
            hashes[name] = [encode_hash(v) for v in unique]
            for v in unique:  # matchers.index.base.chunk_terms, inlined (a third of the cost)
                chunks += [f"{name}:{i}:{v[j:j + 4]}" for i, j in enumerate(range(0, len(v), 4))]
    source.update(doc_id=doc.doc_id, terms=doc_terms(doc), hashes=hashes,
                  hash_chunks=list(dict.fromkeys(chunks)))
    return source


def _line(index: str, doc_id: str, source: dict[str, Any]) -> bytes:
    return b"".join((orjson.dumps({"index": {"_index": index, "_id": doc_id}}), b"\n",
                     orjson.dumps(source), b"\n"))


def face_id(doc_id: str, i: int) -> str:
    return f"{doc_id}|face|{i}"


def doc_items(docs: Iterable[CandidateDoc], candidates: str, signals: str) -> Iterator[Item]:
    """The bulk items of ``docs``: one candidates document each, one signals document per
    distinct face embedding."""
    for d in docs:
        source = candidate_source(d)
        yield Item(d.doc_id, _line(candidates, d.doc_id, source))
        for i, value in enumerate(dict.fromkeys(d.signals.get("face", []))):
            yield Item(d.doc_id, _line(signals, face_id(d.doc_id, i), {
                "cid": d.doc_id, "signal": "face", "value": value,
                "found_at": source["found_at"],
                "embedding": decode_vector(value).tolist()}))


def delete_item(index: str, doc_id: str, target_id: str) -> Item:
    return Item(doc_id, orjson.dumps({"delete": {"_index": index, "_id": target_id}}) + b"\n")


def _chunks(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def send(es: Elasticsearch, items: Iterable[Item], *, threads: int, chunk_size: int,
         on_error: Callable[[BaseException], BaseException | None]
         ) -> tuple[list[Item], dict[str, str]]:
    """Send ``items`` once (consumed lazily: the next chunk is built while others are on
    the wire); returns (items to send again, {doc_id: error} refused for good).

    ``on_error`` maps an exception of a whole request to one to raise (None: send that
    chunk again). A delete of a document that is not there is not an error."""
    retry: list[Item] = []
    rejected: dict[str, str] = {}
    lock = threading.Lock()
    failed = threading.Event()

    def one(chunk: Sequence[Item]) -> None:
        try:
            # bytes: the client's NDJSON serializer forwards them untouched (not in its types).
            res = es.bulk(operations=b"".join(i.lines for i in chunk),  # type: ignore[arg-type]
                          filter_path="errors,items.*.status,items.*.error")
        except Exception as exc:
            mapped = on_error(exc)
            if mapped is not None:
                failed.set()
                raise mapped from exc
            with lock:
                retry.extend(chunk)
            return
        if not res.get("errors"):
            return
        with lock:
            for item, result in zip(chunk, res["items"], strict=True):
                op, info = next(iter(result.items()))
                status = info.get("status", 0)
                if status < 300 or (op == "delete" and status == 404):
                    continue
                if status in RETRY_STATUS:
                    retry.append(item)
                else:
                    rejected[item.doc_id] = orjson.dumps(info.get("error")).decode()

    if threads <= 1:
        for chunk in _chunks(items, chunk_size):
            one(chunk)
        return retry, rejected
    slots = threading.Semaphore(threads)
    futures: list[Future[None]] = []
    with ThreadPoolExecutor(threads, thread_name_prefix="es-bulk") as pool:
        for chunk in _chunks(items, chunk_size):
            slots.acquire()
            if failed.is_set():  # the cluster is gone: the caller keeps the rest queued
                slots.release()
                break
            future = pool.submit(one, chunk)
            future.add_done_callback(lambda _: slots.release())
            futures.append(future)
    for future in futures:
        future.result()  # the first failure of a request, if any
    return retry, rejected


def stale_faces(search: Callable[..., Any], signals: str, docs: Sequence[CandidateDoc],
                page: int) -> list[Item]:
    """Deletes of the face documents of ``docs`` (in the ``signals`` index) that their new
    versions no longer have (a candidate re-added with fewer faces; there is no
    delete-by-query here). ``search``: the client's search, through the caller's error
    handling."""
    faces = {d.doc_id: len(dict.fromkeys(d.signals.get("face", []))) for d in docs}
    out: list[Item] = []
    parts = [list(faces)]
    while parts:
        part = parts.pop()
        hits = search(index=signals, size=page, source=False, query={"terms": {"cid": part}},
                      docvalue_fields=["cid"], track_total_hits=False,
                      filter_path="hits.hits._id,hits.hits.fields").get("hits", {}).get("hits", [])
        if len(hits) == page and len(part) > 1:  # maybe more: ask in halves
            parts += [part[:len(part) // 2], part[len(part) // 2:]]
            continue
        for h in hits:
            cid = h["fields"]["cid"][0]
            keep = {face_id(cid, i) for i in range(faces[cid])}
            if h["_id"] not in keep:
                out.append(delete_item(signals, cid, h["_id"]))
    return out
