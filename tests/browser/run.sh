#!/usr/bin/env bash
# End-to-end tests of the web UI and the widget in Debian's chromium (headless), against the real server.
# Usage: bash tests/browser/run.sh   (THROUGHLINE_BIN=path/to/throughline to pick the binary)
# Needs: node + npm, /usr/bin/chromium (apt-get install -y chromium). Screenshots land in tests/browser/artifacts/.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BIN="${THROUGHLINE_BIN:-$ROOT/target/release/throughline}"
[ -x "$BIN" ] || { echo "throughline binary not found at $BIN (build it, or set THROUGHLINE_BIN)" >&2; exit 1; }
[ -x /usr/bin/chromium ] || { echo "/usr/bin/chromium is missing: apt-get install -y chromium" >&2; exit 1; }
cd "$HERE"
if [ ! -d node_modules/playwright-core ]; then
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
fi
mkdir -p artifacts
DATA="$(mktemp -d)"
PORT="${THROUGHLINE_TEST_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 7899)}"
export THROUGHLINE_ADMIN_TOKEN="tla_browser_test_$(date +%s)_$RANDOM"
LOG="$HERE/artifacts/server.log"
cd "$ROOT"
# --allow-private-network: the server-level setting that lets site sources reach 127.0.0.1 (the crawl test).
"$BIN" --data-dir "$DATA" serve --addr "127.0.0.1:$PORT" --allow-private-network >"$LOG" 2>&1 &
SERVER=$!
cleanup() {
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  rm -rf "$DATA"
}
trap cleanup EXIT
echo "waiting for the server on 127.0.0.1:$PORT (the first start ingests the sample knowledge base)…"
for _ in $(seq 1 600); do
  if curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$SERVER" 2>/dev/null; then echo "the server exited:" >&2; cat "$LOG" >&2; exit 1; fi
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null || { echo "the server did not come up" >&2; tail -50 "$LOG" >&2; exit 1; }
cd "$HERE"
THROUGHLINE_URL="http://127.0.0.1:$PORT" node --test --test-concurrency=1 --test-reporter=spec ui.test.mjs
node --test --test-concurrency=1 --test-reporter=spec journey.test.mjs  # the newcomer's journey, on its own server and empty data dir
