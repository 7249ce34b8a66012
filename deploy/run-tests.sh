#!/usr/bin/env bash
# What `make test` runs after the virtualenv is ready: lint, then the whole pytest suite
# (which starts and stops its own Elasticsearch node, sandbox servers, SMTP server and
# Chromium). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export LIKEWATCH_HOME="${LIKEWATCH_TEST_HOME:-$(mktemp -d -t likewatch-test-XXXXXX)}"
echo "== ruff"
$BIN/ruff check .
echo "== pytest"
$BIN/python -m pytest "$@"
