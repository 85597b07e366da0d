#!/usr/bin/env bash
# Hostile folder ingest time (issue 15 item 7): generates the 30 hostile files of gen.py, then ingests
# them into a fresh data directory with the release binary, REPEATS times (default 3), and prints each
# wall time, the median, and the last run's per-file outcome (indexed / truncated / skipped / failed).
#
#   cargo build --release && benches/hostile/run.sh [REPEATS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$root/target/release/throughline"
repeats="${1:-3}"
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 "$here/gen.py" "$work/hostile"
echo "hostile folder: $(find "$work/hostile" -type f | wc -l) files, $(du -sh "$work/hostile" | cut -f1)"
times=()
for i in $(seq 1 "$repeats"); do
  rm -rf "$work/data"
  start=$(date +%s.%N)
  THROUGHLINE_DATA_DIR="$work/data" "$bin" ingest --kb hostile "$work/hostile" --json >"$work/summary.json"
  end=$(date +%s.%N)
  t=$(python3 -c "print(f'{$end - $start:.1f}')")
  times+=("$t")
  echo "run $i: ${t} s"
done
python3 - "$work/summary.json" "${times[@]}" <<'PY'
import json, statistics, sys
s = json.load(open(sys.argv[1]))
times = sorted(float(t) for t in sys.argv[2:])
print(f"median {statistics.median(times):.1f} s over {len(times)} runs (min {times[0]:.1f}, max {times[-1]:.1f})")
print(f"files {s['files_seen']}, added {s['added']}, chunks {s['chunks_written']}, word pieces {s['tokens_embedded']}, "
      f"failed {s['failed']}, skipped {s['skipped']}, truncated {len(s['truncated'])}")
print("stage seconds:", {k: round(v / 1000, 2) for k, v in s["stage_ms"].items()})
for kind, key in (("truncated", "truncated"), ("skipped", "skipped_items"), ("failed", "failed_items")):
    for p in s[key]:
        print(f"  {kind}: {p['item']}: {p['reason']}")
PY
