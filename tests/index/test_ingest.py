"""Bulk ingest into Elasticsearch through the durable queue, across a real node outage."""

from __future__ import annotations

import base64
import datetime as dt
import threading
import time
from pathlib import Path

import numpy as np

from matchers.index.base import CandidateDoc, SearchFilters
from matchers.index.elastic import ElasticsearchIndex
from matchers.index.queue import IngestQueue
from tests.index.data import make_docs
from tests.index.esnode import Node, es_node, unique_prefix

T0 = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)


def batch(start: int, n: int) -> list[CandidateDoc]:
    return [CandidateDoc(platform="sandbox", item_id=f"v{i:06d}", title=f"clip {i}",
                         found_at=T0 + dt.timedelta(seconds=i),
                         signals={"pdq": [f"{i * 7919 % 2**256:064x}"],
                                  "phash": [f"{i:016x}"]})
            for i in range(start, start + n)]


def test_queue_is_durable_and_ordered(tmp_path: Path) -> None:
    q = IngestQueue(tmp_path / "q.db")
    q.put(batch(0, 5))
    q.put(batch(5, 5))
    first = q.peek(3)
    assert [d.item_id for _, d in first] == ["v000000", "v000001", "v000002"]
    q.ack([seq for seq, _ in first])
    q.close()
    reopened = IngestQueue(tmp_path / "q.db")  # a new process would see the same
    assert len(reopened) == 7
    assert reopened.peek(1)[0][1].to_json() == batch(3, 1)[0].to_json()
    reopened.close()


def test_refused_document_goes_to_dead_letters(es_url: str, tmp_path: Path) -> None:
    index = ElasticsearchIndex(es_url, prefix=unique_prefix(), queue_path=tmp_path / "q.db")
    try:
        bad = CandidateDoc(platform="sandbox", item_id="huge", uploader="x" * 40_000)
        assert index.add([*batch(0, 10), bad]) == 11
        assert index.pending() == 0
        assert index.queue is not None and index.queue.dead_count() == 1
        assert index.count() == 10
    finally:
        index.drop()
        index.close()


def test_node_stopped_during_ingest_loses_nothing(es_node_info: Node, tmp_path: Path) -> None:
    """Ingest, SIGTERM the session's node (deploy/es-node stop) while batches keep coming,
    keep ingesting while it is down (they queue), restart it on the same port, replay:
    every candidate is there."""
    node = es_node_info
    per_batch, batches, stop_after = 200, 24, 6
    index = ElasticsearchIndex(node.url, prefix=unique_prefix(), queue_path=tmp_path / "q.db",
                               request_timeout=15)
    stopper = threading.Thread(target=es_node, args=("stop", "--name", node.name))
    t0 = time.monotonic()
    try:
        for b in range(batches):
            print(f"{time.monotonic() - t0:6.1f}s batch {b} pending {index.pending()}")
            if b == stop_after:
                stopper.start()  # SIGTERM now, while the next batches are being sent
            index.add(batch(b * per_batch, per_batch))
        stopper.join()
        print(f"{time.monotonic() - t0:6.1f}s node stopped")
        index.add(batch(batches * per_batch, per_batch))  # the node is surely down now
        total = (batches + 1) * per_batch
        assert index.pending() >= per_batch, "adds while the node is down must queue"
    finally:
        stopper.join()
        es_node("start", "--name", node.name, "--port", node.port)
    print(f"{time.monotonic() - t0:6.1f}s node restarted")
    try:
        sent = index.replay(timeout=180)
        print(f"{time.monotonic() - t0:6.1f}s replayed {sent}")
        assert sent > 0 and index.pending() == 0
        assert index.queue is not None and index.queue.dead_count() == 0
        assert index.count() == total
        seen: list[str] = []
        after = None
        while True:
            page = index.search("", SearchFilters(platform=["sandbox"]), sort="found_at",
                                size=2000, after=after)
            seen += [d.item_id for d in page.hits]
            if (after := page.next_token) is None:
                break
        assert seen == [f"v{i:06d}" for i in range(total)]
    finally:
        index.drop()
        index.close()


def test_readding_with_fewer_faces_deletes_the_stale_face_documents(es_index) -> None:
    def face(n: float) -> str:
        return base64.b64encode(np.full(128, n, dtype="<f4").tobytes()).decode()

    def face_docs() -> list[str]:
        es_index.refresh()
        res = es_index.es.search(index=es_index.alias["signals"], source=False, size=100,
                                 query={"term": {"cid": "sandbox:f1"}})
        return sorted(h["_id"] for h in res["hits"]["hits"])

    doc = CandidateDoc(platform="sandbox", item_id="f1",
                       signals={"face": [face(0.1), face(0.2), face(0.3)]})
    other = CandidateDoc(platform="sandbox", item_id="f2", signals={"face": [face(0.2)]})
    es_index.add([doc, other])
    assert face_docs() == [f"sandbox:f1|face|{i}" for i in range(3)]
    doc.signals["face"] = [face(0.3)]
    es_index.add([doc])
    assert face_docs() == ["sandbox:f1|face|0"]
    assert [c for c, _ in es_index.knn_face(face(0.2), 10, 0.01)] == ["sandbox:f2"]
    doc.signals = {}
    es_index.add([doc])
    assert face_docs() == []
    assert [c for c, _ in es_index.knn_face(face(0.3), 10, 0.01)] == []


def _refresh_interval(es: ElasticsearchIndex) -> set[str]:
    got = es.es.indices.get_settings(index=es.alias["candidates"],
                                     name="index.refresh_interval")
    return {body["settings"]["index"]["refresh_interval"] for body in dict(got).values()}


def test_bulk_load_defers_refresh_and_a_killed_one_is_healed(es_index, es_url: str,
                                                              tmp_path: Path) -> None:
    docs, _ = make_docs(40)
    with es_index.bulk_load():
        es_index.add(docs)
        assert _refresh_interval(es_index) == {"-1"}
    assert _refresh_interval(es_index) == {"1s"}
    assert es_index.search("", size=1).total == 40  # searchable once the load ends

    # a loader killed mid-load leaves the periodic refresh off: the next process heals it
    es_index.es.indices.put_settings(index=es_index.alias["candidates"],
                                     settings={"refresh_interval": "-1"})
    other = ElasticsearchIndex(es_url, prefix=es_index.prefix,
                               queue_path=tmp_path / "other-queue.db")
    try:
        other.ensure_setup()
        assert _refresh_interval(other) == {"1s"}
    finally:
        other.close()
