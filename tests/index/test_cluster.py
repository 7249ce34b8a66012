"""The candidate index on a three-node cluster: replicas, and a node stopped while
candidates keep coming (the contract suite itself runs on the cluster too: conftest)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from matchers.index.elastic import ElasticsearchIndex
from tests.index.data import brute_radius, make_scale_docs
from tests.index.esnode import Node, es_node, unique_prefix

pytestmark = [pytest.mark.cluster, pytest.mark.elasticsearch]


def _health(index: ElasticsearchIndex, **wait: str) -> dict[str, object]:
    return dict(index.es.cluster.health(index=index.alias["candidates"], timeout="120s",
                                        **wait))


def _primary_node(index: ElasticsearchIndex) -> str:
    """The deploy/es-node name of the node holding the candidates index's primary."""
    shards = index.es.cat.shards(index=index.alias["candidates"], format="json")
    node = next(s["node"] for s in shards if s["prirep"] == "p" and s["state"] == "STARTED")
    return str(node).removeprefix("likewatch-")


def test_a_stopped_node_loses_nothing_and_writes_go_on(es_cluster_info: Node,
                                                       tmp_path: Path) -> None:
    """Candidates indexed on three nodes have a replica; the node holding the primary is
    stopped: every candidate stays readable, new ones are acknowledged at once (none
    queued: the client goes to the other nodes, the replica becomes the primary), and the
    node joins again when restarted."""
    docs, bases = make_scale_docs(1200, seed=21)
    index = ElasticsearchIndex(es_cluster_info.url, prefix=unique_prefix(),
                               queue_path=tmp_path / "q.db", request_timeout=60)
    stopped = ""
    try:
        index.add(docs[:600])
        health = _health(index, wait_for_status="green")
        assert health["number_of_nodes"] == 3 and health["status"] == "green"
        settings = index.es.indices.get_settings(index=index.alias["candidates"])
        assert [b["settings"]["index"]["number_of_replicas"] for b in settings.values()] == ["1"]
        stopped = _primary_node(index)
        assert stopped in es_node("cluster", "nodes", "--name", es_cluster_info.name).split()
        es_node("stop", "--name", stopped)
        for part in (docs[600:900], docs[900:]):
            index.add(part)
            assert index.pending() == 0, "a write with one node down must not need the queue"
        assert index.count() == len(docs)
        got = index.radius_search("pdq", bases["pdq"][0], 31)
        assert got == brute_radius({d.doc_id: d for d in docs}, "pdq", bases["pdq"][0], 31)
        assert got, "the data has near copies"
        assert _primary_node(index) != stopped
        assert _health(index, wait_for_status="yellow")["number_of_nodes"] == 2
    finally:
        if stopped:
            started = time.monotonic()
            es_node("start", "--name", stopped, timeout=900)
            print(f"node {stopped} restarted in {time.monotonic() - started:.0f} s")
    try:
        health = _health(index, wait_for_status="green", wait_for_nodes="3")
        assert health["status"] == "green" and health["number_of_nodes"] == 3
        assert index.count() == len(docs)
    finally:
        index.drop()
        index.close()
