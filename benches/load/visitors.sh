#!/usr/bin/env bash
# Issue 17's load benchmark: 50, 200 and 500 concurrent widget visitors, cold (right after a start) and
# warm (the same server again), against a release build on 127.0.0.1; then shutdown with 30 open streams.
# Usage: benches/load/visitors.sh [path/to/throughline] [repeats]   (python3 only, standard library)
# Extra serve flags (limits) can be given in SERVE_FLAGS, e.g. SERVE_FLAGS="--chat-queue 64".
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN="$(realpath "${1:-target/release/throughline}")"
REPEATS="${2:-1}"
DATA="$(mktemp -d)"
PORT="${PORT:-17991}"
export THROUGHLINE_ADMIN_TOKEN="tla_shutdown_bench_token"
SERVER=""
stop() { if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; SERVER=""; fi; }
trap 'stop; rm -rf "$DATA"' EXIT
start() {
  # shellcheck disable=SC2086
  "$BIN" --data-dir "$DATA" serve --addr "127.0.0.1:$PORT" ${SERVE_FLAGS:-} >> "$DATA/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 1200); do curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && return 0; sleep 0.25; done
  echo "the server did not come up" >&2; tail -30 "$DATA/server.log" >&2; exit 1
}
start   # first start: ingests sample-kb and publishes the demo agent
KEY="$(curl -fsS -H "Authorization: Bearer $THROUGHLINE_ADMIN_TOKEN" "http://127.0.0.1:$PORT/v1/agents/demo" | python3 -c 'import json,sys; print(json.load(sys.stdin)["public_key"])')"
stop
grep -m1 "^Public chat:" "$DATA/server.log" || true
[ -n "${SKIP_VISITORS:-}" ] && REPEATS=0   # SKIP_VISITORS=1: only the shutdown measurement
for r in $(seq 1 "$REPEATS"); do
  for n in 50 200 500; do
    start
    python3 benches/load/visitors.py --addr "127.0.0.1:$PORT" --key "$KEY" --visitors "$n" --label "cold#$r"
    python3 benches/load/visitors.py --addr "127.0.0.1:$PORT" --key "$KEY" --visitors "$n" --label "warm#$r"
    stop
  done
done
echo "== shutdown with 30 open chat streams and 30 open event streams"
(cd benches/load && python3 shutdown.py --bin "$BIN" --data "$DATA" --streams 30 --repeats 3)
