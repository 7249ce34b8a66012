#!/usr/bin/env bash
# What `make test` runs after the virtualenv is ready: lint, import contracts, types, then
# the whole pytest suite (which starts and stops its own sandbox servers, SMTP server and
# Chromium). A real Elasticsearch node is started here first (deploy/es-node, fetched from
# Maven Central on the first run: 9.5 with a Java >= 21 on the machine, else 8.19 on Java
# 17; ES_VERSION=... picks one), its URL exported as LIKEWATCH_TEST_ES_URL, and stopped on
# exit whatever happens. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export LIKEWATCH_HOME="${LIKEWATCH_TEST_HOME:-$(mktemp -d -t likewatch-test-XXXXXX)}"
echo "== ruff"
$BIN/ruff check .
echo "== import contracts (the layers of docs/architecture.md; pyproject.toml [tool.importlinter])"
$BIN/lint-imports --no-logo
echo "== mypy (strict on every package: pyproject.toml [tool.mypy] files)"
$BIN/mypy

echo "== elasticsearch"
export LIKEWATCH_TEST_ES_NODE="test-$$"
stop_es() {
    deploy/es-node stop --name "$LIKEWATCH_TEST_ES_NODE" || true
    rm -rf "deploy/es/nodes/$LIKEWATCH_TEST_ES_NODE"
}
trap stop_es EXIT
deploy/es-node fetch
deploy/es-node start --name "$LIKEWATCH_TEST_ES_NODE" --port auto --fresh
LIKEWATCH_TEST_ES_URL="$(deploy/es-node url --name "$LIKEWATCH_TEST_ES_NODE")"
export LIKEWATCH_TEST_ES_URL
echo "Elasticsearch node $LIKEWATCH_TEST_ES_URL version $(deploy/es-node status --name "$LIKEWATCH_TEST_ES_NODE" | cut -d' ' -f3)" \
     "on Java $(deploy/es-node java | cut -d' ' -f2)" \
     "(Python client $($BIN/python -c 'import elasticsearch; print(elasticsearch.__versionstr__)'))"

echo "== pytest"
$BIN/python -m pytest "$@"
