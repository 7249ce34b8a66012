"""The real node the Elasticsearch tests run against, and its pairing with the client."""

from __future__ import annotations

import elasticsearch
import pytest
from elastic_transport import HttpHeaders

from matchers.index import es_compat
from matchers.index.elastic import ElasticsearchIndex
from tests.index.esnode import Node, es_node


def test_node_version_pairs_with_client(es_node_info: Node) -> None:
    index = ElasticsearchIndex(es_node_info.url)
    try:
        version = index.server_version()
    finally:
        index.close()
    print(f"Elasticsearch node {es_node_info.url}: {version}; "
          f"client {elasticsearch.__versionstr__}")
    # The 9.x client speaks to 9.x, and to 8.x through es_compat (Java 17 machines).
    client_major = int(elasticsearch.__versionstr__.split(".")[0])
    assert int(version.split(".")[0]) in (client_major, client_major - 1)
    assert version == es_node("version", "--name", es_node_info.name)


def test_compat_headers_ask_an_older_server_for_its_own_version() -> None:
    major = es_compat.CLIENT_MAJOR
    headers = HttpHeaders({
        "accept": f"application/vnd.elasticsearch+json; compatible-with={major}",
        "content-type": f"application/vnd.elasticsearch+x-ndjson; compatible-with={major}",
        "x-opaque-id": "compatible-with=1"})
    older = es_compat.compat_headers(headers, major - 1)
    assert older is not None
    assert older["accept"] == f"application/vnd.elasticsearch+json; compatible-with={major - 1}"
    assert older["content-type"].endswith(f"x-ndjson; compatible-with={major - 1}")
    assert older["x-opaque-id"] == "compatible-with=1"
    assert es_compat.compat_headers(headers, major) is headers
    assert headers["accept"].endswith(f"compatible-with={major}")  # the original is kept


def test_server_major_reads_the_nodes_answer() -> None:
    assert es_compat.server_major(b'{"nodes": {"x": {"version": "8.19.21"}}}') == 8
    with pytest.raises(ValueError, match="no node version"):
        es_compat.server_major(b'{"nodes": {}}')


def test_templates_in_deploy_match_the_code(tmp_path) -> None:
    from pathlib import Path

    from matchers.index import es_mappings

    generated = es_mappings.write_json(tmp_path)
    deploy = Path(__file__).resolve().parents[2] / "deploy" / "elasticsearch"
    for path in generated:
        assert (deploy / path.name).read_text() == path.read_text(), (
            "regenerate with: python -m matchers.index.es_mappings deploy/elasticsearch")
