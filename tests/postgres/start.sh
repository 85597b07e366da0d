#!/usr/bin/env bash
# Starts a throwaway PostgreSQL on loopback for the tests: a fresh data directory under /tmp, trust
# authentication for 127.0.0.1 only, port $PGPORT (default 54329), fsync off unless PG_FSYNC=on (benchmarks). Prints the database URL on stdout;
# `tests/postgres/stop.sh` stops it and removes the directory. Needs Debian's `postgresql` package
# (.ci/run installs it). As root, the server runs as the `postgres` system user, which the package creates.
set -euo pipefail
port="${PGPORT:-54329}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$bin/initdb" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
dir="${THROUGHLINE_PG_DIR:-/tmp/throughline-pg-$port}"
as=()
if [ "$(id -u)" = 0 ]; then as=(runuser -u postgres --); fi
if [ -f "$dir/data/postmaster.pid" ]; then "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true; fi
rm -rf "$dir"
mkdir -p "$dir"
[ "$(id -u)" = 0 ] && chown postgres: "$dir"
"${as[@]}" "$bin/initdb" -D "$dir/data" -U throughline --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200 -c fsync=${PG_FSYNC:-off}" start >/dev/null \
  || { cat "$dir/server.log" >&2; exit 1; }
"${as[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U throughline throughline
echo "postgres://throughline@127.0.0.1:$port/throughline"
