#!/usr/bin/env bash
# Scale-out benchmarks (PostgreSQL, replicas), all on this machine's loopback:
#   benches/scale/run.sh [path/to/throughline] [corpus folder]
# 1. ingestion of the corpus (default: the Railway docs as benches/answers/run.sh prepares them) into
#    SQLite and into PostgreSQL, per-stage seconds from `ingest --json`;
# 2. `migrate --to`: the SQLite data dir copied into an empty PostgreSQL database;
# 3. catch-up of a fresh replica: a new data dir on the shared database answers its first search after
#    building its indexes from the stored vectors (3 runs; the same command on a warm data dir is the
#    start-up cost without the build);
# 4. requests/s of search and chat with one replica, then two replicas (two wrk processes, one per
#    replica, as a load balancer would spread them), and one SQLite server for comparison.
# PostgreSQL is Debian's, started by tests/postgres/start.sh on a throwaway directory with fsync on.
# wrk (Debian) and the server share the machine's cores: read requests/s side by side, not absolutely.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN="$(realpath "${1:-target/release/throughline}")"
CORPUS="$(realpath "${2:-target/eval/railway/docs}")"
SECS="${SECS:-20}"
export PGPORT="${PGPORT:-54340}" THROUGHLINE_PG_DIR=/tmp/throughline-bench-pg PG_FSYNC=on
URL="$(tests/postgres/start.sh)"
WORK="$(mktemp -d)"
export THROUGHLINE_ADMIN_TOKEN="bench-$RANDOM$RANDOM"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; tests/postgres/stop.sh || true; rm -rf "$WORK"; }
trap cleanup EXIT

stages() { python3 -c 'import json,sys; s=json.load(sys.stdin); t=s["stage_ms"]; print("total %.1f s, %d documents, %d chunks, stages (s): %s" % (s["elapsed_ms"]/1000, s["kb_documents"], s["kb_chunks"], {k: round(v/1000,2) for k,v in t.items()}))'; }

echo "== 1. ingestion of $CORPUS"
/usr/bin/time -f "SQLite: %e s wall, %M KB max RSS" "$BIN" --data-dir "$WORK/sqlite" ingest --kb railway "$CORPUS" --json 2>"$WORK/sqlite.time" | stages || true
tail -1 "$WORK/sqlite.time"
/usr/bin/time -f "PostgreSQL: %e s wall, %M KB max RSS" "$BIN" --data-dir "$WORK/pg-a" --database-url "$URL" ingest --kb railway "$CORPUS" --json 2>"$WORK/pg.time" | stages || true
tail -1 "$WORK/pg.time"

echo "== 2. migrate --to (the SQLite data dir into an empty database)"
EMPTY="$(psql -qAtX "$URL" -c 'CREATE SCHEMA IF NOT EXISTS migrated' >/dev/null && echo "${URL}?options=-csearch_path%3Dmigrated")"
/usr/bin/time -f "migrate: %e s wall" "$BIN" --data-dir "$WORK/sqlite" migrate --to "$EMPTY" 2>&1 | tail -3

echo "== 3. catch-up of a fresh replica (first search builds the indexes from the stored vectors)"
for i in 1 2 3; do
  /usr/bin/time -f "fresh replica $i: %e s wall" "$BIN" --data-dir "$WORK/fresh$i" --database-url "$URL" search --kb railway "deploy a node app" --mode bm25 --limit 1 >/dev/null 2>"$WORK/fresh$i.err"
  grep -h "repaired\|fresh replica" "$WORK/fresh$i.err"
  /usr/bin/time -f "same replica again (indexes built): %e s wall" "$BIN" --data-dir "$WORK/fresh$i" --database-url "$URL" search --kb railway "deploy a node app" --mode bm25 --limit 1 >/dev/null 2>"$WORK/warm$i.err"
  tail -1 "$WORK/warm$i.err"
done

serve() { # data dir, port, extra args…
  local dir="$1" port="$2"; shift 2
  "$BIN" --data-dir "$dir" "$@" serve --no-sample --addr "127.0.0.1:$port" >"$dir.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 600); do curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return; sleep 0.2; done
  echo "server on $port did not start" >&2; exit 1
}
warm() { # port: open the kb and the agent before measuring
  curl -fsS -H "Authorization: Bearer $THROUGHLINE_ADMIN_TOKEN" -H 'content-type: application/json' \
    -d '{"q":"deploy","limit":1}' "http://127.0.0.1:$1/v1/kbs/railway/search" >/dev/null
  curl -fsS -H "Authorization: Bearer $THROUGHLINE_ADMIN_TOKEN" -H 'content-type: application/json' \
    -d '{"contact":"warm","message":"how do I deploy?"}' "http://127.0.0.1:$1/v1/agents/bench/chat" >/dev/null
}
rate() { # label, lua, connections, ports…
  local label="$1" lua="$2" c="$3"; shift 3
  local outs=()
  for port in "$@"; do
    wrk -t1 -c"$c" -d"${SECS}s" --latency -s "benches/scale/$lua" "http://127.0.0.1:$port" >"$WORK/wrk-$port.out" &
    outs+=($!)
  done
  wait "${outs[@]}"
  python3 - "$label" "$@" <<'PY'
import re, sys
label, ports = sys.argv[1], sys.argv[2:]
total, p50s, p99s, errors = 0.0, [], [], 0
for port in ports:
    out = open(f"{__import__('os').environ['WORK']}/wrk-{port}.out").read()
    total += float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50s.append(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)); p99s.append(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out); errors += int(m.group(1)) if m else 0
print(f"| {label} | {total:.1f} | {' / '.join(p50s)} | {' / '.join(p99s)} | {errors} |")
PY
}
export WORK

echo "== 4. requests/s (search: 4 connections per replica; chat: 2 per replica; ${SECS} s each)"
serve "$WORK/sqlite" 17991
curl -fsS -o /dev/null -H "Authorization: Bearer $THROUGHLINE_ADMIN_TOKEN" -H 'content-type: application/json' \
  -d '{"name":"bench","kb":"railway"}' "http://127.0.0.1:17991/v1/agents"
warm 17991
echo "| setup | requests/s | p50 | p99 | non-2xx |"
echo "| --- | --- | --- | --- | --- |"
rate "search, SQLite, 1 server" search.lua 4 17991
rate "chat, SQLite, 1 server" chat.lua 2 17991
kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
serve "$WORK/pg-a" 17992 --database-url "$URL"
curl -fsS -o /dev/null -H "Authorization: Bearer $THROUGHLINE_ADMIN_TOKEN" -H 'content-type: application/json' \
  -d '{"name":"bench","kb":"railway"}' "http://127.0.0.1:17992/v1/agents"
warm 17992
rate "search, PostgreSQL, 1 replica" search.lua 4 17992
rate "chat, PostgreSQL, 1 replica" chat.lua 2 17992
serve "$WORK/fresh1" 17993 --database-url "$URL"
warm 17993
rate "search, PostgreSQL, 2 replicas" search.lua 4 17992 17993
rate "chat, PostgreSQL, 2 replicas" chat.lua 2 17992 17993
