#!/usr/bin/env bash
# Stops the PostgreSQL started by tests/postgres/start.sh and removes its directory.
set -euo pipefail
port="${PGPORT:-54329}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
dir="${THROUGHLINE_PG_DIR:-/tmp/throughline-pg-$port}"
as=()
if [ "$(id -u)" = 0 ]; then as=(runuser -u postgres --); fi
[ -f "$dir/data/postmaster.pid" ] && "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null
rm -rf "$dir"
