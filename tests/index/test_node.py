"""The real node the Elasticsearch tests run against, and its pairing with the client."""

from __future__ import annotations

import elasticsearch

from matchers.index.elastic import ElasticsearchIndex
from tests.index.esnode import es_node


def test_node_version_pairs_with_client(es_url: str) -> None:
    index = ElasticsearchIndex(es_url)
    try:
        version = index.server_version()
    finally:
        index.close()
    print(f"Elasticsearch node {es_url}: {version}; client {elasticsearch.__versionstr__}")
    assert version.split(".")[0] == elasticsearch.__versionstr__.split(".")[0]
    assert version == es_node("version")


def test_templates_in_deploy_match_the_code(tmp_path) -> None:
    from pathlib import Path

    from matchers.index import es_mappings

    generated = es_mappings.write_json(tmp_path)
    deploy = Path(__file__).resolve().parents[2] / "deploy" / "elasticsearch"
    for path in generated:
        assert (deploy / path.name).read_text() == path.read_text(), (
            "regenerate with: python -m matchers.index.es_mappings deploy/elasticsearch")
