#!/usr/bin/env bash
# Schemathesis over the served OpenAPI document (every check but where tests/clients/schemathesis.toml says
# why not, 10 examples per operation, every operation but the crawl start, which would crawl the web),
# against a real server on 127.0.0.1 with a fresh data dir.
# Usage: tests/clients/schemathesis.sh [--ci] [path/to/throughline] [schemathesis options…]
# With --ci (what .ci/run runs) the examples, fuzzing and stateful phases run; the coverage phase is left
# out because Schemathesis 4.32 crashes inside it on Python 3.11 ("AST constructor recursion depth
# mismatch").
set -euo pipefail
phases=()
if [ "${1:-}" = "--ci" ]; then
  phases=(--phases examples,fuzzing,stateful)
  shift
fi
cd "$(dirname "$0")/../.."
BIN="${1:-target/release/throughline}"
VENV="${SCHEMATHESIS_VENV:-target/schemathesis-venv}"
if [ ! -x "$VENV/bin/schemathesis" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "schemathesis==4.32.5"
fi
DATA="$(mktemp -d)"
PORT="${THROUGHLINE_TEST_PORT:-17975}"
TOKEN="schemathesis-$RANDOM$RANDOM"
THROUGHLINE_ADMIN_TOKEN="$TOKEN" "$BIN" --data-dir "$DATA" serve --addr "127.0.0.1:$PORT" > "$DATA/server.log" 2>&1 &
SERVER=$!
cleanup() { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT
for _ in $(seq 1 600); do
  curl -fsS "http://127.0.0.1:$PORT/health" > /dev/null 2>&1 && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$DATA/server.log"; exit 1; }
  sleep 0.5
done
# Every operation has an id; selecting by id makes Schemathesis 4.32 count and test all of them (without a
# filter it leaves one out of its count).
"$VENV/bin/schemathesis" --config-file tests/clients/schemathesis.toml run \
  "http://127.0.0.1:$PORT/v1/openapi.json" -H "Authorization: Bearer $TOKEN" -n 10 \
  --include-operation-id-regex '.' --exclude-path-regex 'sources/site' -w 1 "${phases[@]}" "${@:2}"
