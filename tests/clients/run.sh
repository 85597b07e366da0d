#!/usr/bin/env bash
# Runs the client tests (the official MCP Python and TypeScript SDKs, the `openai` Python and Node SDKs)
# against a real server on 127.0.0.1 with a fresh data directory. Usage: tests/clients/run.sh [path/to/throughline]
# Needs python3 (venv) and node + npm; the packages are pinned (requirements.txt, node/package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN="${1:-${THROUGHLINE_BIN:-target/debug/throughline}}"
VENV="${CLIENT_VENV:-target/client-venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet -r tests/clients/requirements.txt
fi
if [ ! -d tests/clients/node/node_modules/openai ]; then
  (cd tests/clients/node && npm ci --no-audit --no-fund --loglevel=error)
fi
DATA="$(mktemp -d)"
PORT="${THROUGHLINE_TEST_PORT:-17931}"
export THROUGHLINE_ADMIN_TOKEN="client-tests-$RANDOM$RANDOM"
export THROUGHLINE_URL="http://127.0.0.1:$PORT"
"$BIN" --data-dir "$DATA" serve --addr "127.0.0.1:$PORT" > "$DATA/server.log" 2>&1 &
SERVER=$!
cleanup() { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT
for _ in $(seq 1 600); do
  if curl -fsS "$THROUGHLINE_URL/health" > /dev/null 2>&1; then break; fi
  if ! kill -0 "$SERVER" 2>/dev/null; then cat "$DATA/server.log"; echo "the server exited" >&2; exit 1; fi
  sleep 0.5
done
status=0
for t in tests/clients/test_*.py; do
  echo "== $t"
  "$VENV/bin/python" "$t" || { status=1; echo "FAILED: $t" >&2; }
done
echo "== tests/clients/node (openai Node SDK, MCP TypeScript SDK)"
(cd tests/clients/node && node --test --test-concurrency=1 --test-reporter=spec openai.test.mjs mcp.test.mjs) \
  || { status=1; echo "FAILED: tests/clients/node" >&2; }
if [ $status -ne 0 ]; then echo "--- server log"; tail -50 "$DATA/server.log"; fi
exit $status
