#!/usr/bin/env bash
# What `make test` runs after the virtualenv is ready: lint, import contracts, types, then
# the whole pytest suite (which starts and stops its own sandbox servers, SMTP server and
# Chromium). A real Elasticsearch node is started here first (deploy/es-node, fetched from
# Maven Central on the first run: 9.5 with a Java >= 21 on the machine, else 8.19 on Java
# 17; ES_VERSION=... picks one), its URL exported as LIKEWATCH_TEST_ES_URL, and stopped on
# exit whatever happens. A cluster of three nodes (deploy/es-node cluster) starts in the
# background meanwhile (it takes a minute or more on a loaded machine) for the tests marked
# `cluster` (the candidate index's contract suite and tests/index/test_cluster.py), its
# URLs exported as LIKEWATCH_TEST_ES_CLUSTER_URL; LIKEWATCH_TEST_ES_CLUSTER=0 leaves it out
# (and those tests, with -m "not cluster"). Nodes that cannot start within 10 minutes are
# killed and the run fails; whatever this script started is stopped when it ends, however
# it ends (a watchdog covers SIGKILL). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export LIKEWATCH_HOME="${LIKEWATCH_TEST_HOME:-$(mktemp -d -t likewatch-test-XXXXXX)}"
export LIKEWATCH_TEST_ES_NODE="test-$$"
CLUSTER_PID="" CLUSTER_UP=0
stop_es() {
    deploy/es-node stop --name "$LIKEWATCH_TEST_ES_NODE" || true
    rm -rf "deploy/es/nodes/$LIKEWATCH_TEST_ES_NODE"
    if [[ -n "$CLUSTER_PID" ]]; then
        # Still starting (an early failure): stop the starter (its own process group) first.
        kill -TERM -- "-$CLUSTER_PID" 2>/dev/null && sleep 2
        wait "$CLUSTER_PID" 2>/dev/null || true
        CLUSTER_UP=1
    fi
    if [[ "$CLUSTER_UP" == 1 ]]; then
        deploy/es-node cluster delete --name "$LIKEWATCH_TEST_ES_CLUSTER" || true
    fi
}
trap stop_es EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
# Killed outright (SIGKILL, a CI time limit), this script runs no trap: a watchdog in its
# own session stops whatever it started once the script is gone (a no-op after stop_es).
watchdog() {
    setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 5; done
        [[ -n "$4" ]] && kill -TERM -- "-$4" 2>/dev/null
        deploy/es-node stop --name "$2"; rm -rf "deploy/es/nodes/$2"
        [[ -n "$3" ]] && deploy/es-node cluster delete --name "$3"' \
        watchdog "$$" "$LIKEWATCH_TEST_ES_NODE" "${1:-}" "${2:-}" </dev/null >/dev/null 2>&1 &
}
deploy/es-node fetch
CLUSTER_ARGS=()
if [[ "${LIKEWATCH_TEST_ES_CLUSTER:-}" == 0 ]]; then
    CLUSTER_ARGS=(-m "not cluster")
else
    export LIKEWATCH_TEST_ES_CLUSTER="testc-$$"
    CLUSTER_LOG="$LIKEWATCH_HOME/es-cluster.log"
    setsid deploy/es-node cluster start --name "$LIKEWATCH_TEST_ES_CLUSTER" --nodes 3 --fresh \
        --timeout 600 >"$CLUSTER_LOG" 2>&1 &
    CLUSTER_PID=$!
fi
watchdog "${LIKEWATCH_TEST_ES_CLUSTER#0}" "$CLUSTER_PID"
echo "== ruff"
$BIN/ruff check .
echo "== import contracts (the layers of docs/architecture.md; pyproject.toml [tool.importlinter])"
$BIN/lint-imports --no-logo
echo "== mypy (strict on every package: pyproject.toml [tool.mypy] files)"
$BIN/mypy

echo "== elasticsearch"
deploy/es-node start --name "$LIKEWATCH_TEST_ES_NODE" --port auto --fresh
LIKEWATCH_TEST_ES_URL="$(deploy/es-node url --name "$LIKEWATCH_TEST_ES_NODE")"
export LIKEWATCH_TEST_ES_URL
echo "Elasticsearch node $LIKEWATCH_TEST_ES_URL version $(deploy/es-node status --name "$LIKEWATCH_TEST_ES_NODE" | cut -d' ' -f3)" \
     "on Java $(deploy/es-node java | cut -d' ' -f2)" \
     "(Python client $($BIN/python -c 'import elasticsearch; print(elasticsearch.__versionstr__)'))"

if [[ -n "$CLUSTER_PID" ]]; then
    started=0
    wait "$CLUSTER_PID" && started=1
    CLUSTER_PID="" CLUSTER_UP=1
    if [[ "$started" == 0 ]]; then
        cat "$CLUSTER_LOG" >&2
        echo "the Elasticsearch cluster did not start (LIKEWATCH_TEST_ES_CLUSTER=0 runs without it)" >&2
        exit 1
    fi
    LIKEWATCH_TEST_ES_CLUSTER_URL="$(deploy/es-node cluster url --name "$LIKEWATCH_TEST_ES_CLUSTER")"
    export LIKEWATCH_TEST_ES_CLUSTER_URL
    echo "Elasticsearch cluster $LIKEWATCH_TEST_ES_CLUSTER: $(deploy/es-node cluster status --name "$LIKEWATCH_TEST_ES_CLUSTER")"
fi

echo "== pytest"
$BIN/python -m pytest ${CLUSTER_ARGS[@]+"${CLUSTER_ARGS[@]}"} "$@"
