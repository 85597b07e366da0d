#!/usr/bin/env bash
# Bounded load test of search and chat on loopback (wrk from Debian: apt-get install wrk).
# Usage: benches/load/run.sh [path/to/throughline]   — prints wrk's latency distribution for each.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN="${1:-target/release/throughline}"
DATA="$(mktemp -d)"
PORT="${PORT:-17990}"
export THROUGHLINE_ADMIN_TOKEN="load-$RANDOM$RANDOM"
"$BIN" --data-dir "$DATA" serve --addr "127.0.0.1:$PORT" > "$DATA/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 1 600); do curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.5; done
echo "== search (4 connections, 30 s)"
wrk -t2 -c4 -d30s --latency -s benches/load/search.lua "http://127.0.0.1:$PORT"
echo "== chat (2 connections, 30 s)"
wrk -t2 -c2 -d30s --latency -s benches/load/chat.lua "http://127.0.0.1:$PORT"
