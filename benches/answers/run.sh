#!/usr/bin/env bash
# Evaluates retrieval and answers on every corpus with a question set here, in one command:
#   benches/answers/run.sh [BINARY] [CORPORA_DIR]
# For each `NAME.jsonl` beside this script it ingests CORPORA_DIR/NAME (default ../shared/corpora) into a
# data dir of its own under target/eval/NAME (incremental: re-runs only re-embed what changed), creates an
# agent with derived defaults, then runs
# `eval` (nDCG@10 etc. per mode and per stage) and `eval-answers --json` (fact recall, citation precision,
# stage accuracy, "I don't know" precision/recall, latency, confusion matrix, per-question records).
# Results go to target/eval/NAME/{retrieval,answers}.json; a summary table is printed at the end.
# sample-kb is evaluated too (its own queries.jsonl), as the smoke test it is.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${1:-$root/target/release/throughline}"
corpora="${2:-$root/../shared/corpora}"
out="$root/target/eval"
mkdir -p "$out"

run_one() { # name, folder, queries
  local name="$1" folder="$2" queries="$3" dir="$out/$1"
  mkdir -p "$dir"
  # The corpus as a customer would upload it: without the provenance and licence files of the copy.
  rm -rf "$dir/docs" && cp -r "$folder" "$dir/docs"
  rm -f "$dir/docs/SOURCE.md" "$dir/docs/LICENSE" "$dir/docs/COPYRIGHT"
  echo "== $name: ingest $folder" >&2
  "$bin" --data-dir "$dir/data" ingest --kb "$name" "$dir/docs" --json > "$dir/ingest.json"
  # A new agent each run (derived afresh, so changes to the deriving are measured too).
  local agent="$name-$(date +%s)"
  "$bin" --data-dir "$dir/data" agent create --name "$agent" --kb "$name" > /dev/null
  echo "== $name: eval" >&2
  "$bin" --data-dir "$dir/data" eval --kb "$name" --queries "$queries" --json > "$dir/retrieval.json"
  echo "== $name: eval-answers" >&2
  "$bin" --data-dir "$dir/data" eval-answers --agent "$agent" --queries "$queries" --json > "$dir/answers.json"
}

names=()
for q in "$here"/*.jsonl; do
  name="$(basename "$q" .jsonl)"
  [ -d "$corpora/$name" ] || { echo "skip $name: no $corpora/$name" >&2; continue; }
  run_one "$name" "$corpora/$name" "$q"
  names+=("$name")
done
run_one sample "$root/sample-kb" "$root/sample-kb/queries.jsonl"
names+=(sample)

python3 - "$out" "${names[@]}" <<'PY'
import json, sys
out, names = sys.argv[1], sys.argv[2:]
print(f"{'corpus':<10} {'bm25':>6} {'vector':>6} {'hybrid':>6} {'facts':>6} {'cites':>6} {'stage':>6} {'idkP':>6} {'idkR':>6} {'p50ms':>6}")
for n in names:
    r = json.load(open(f"{out}/{n}/retrieval.json")); a = json.load(open(f"{out}/{n}/answers.json"))
    print(f"{n:<10} {r['bm25']['ndcg@10']:>6.3f} {r['vector']['ndcg@10']:>6.3f} {r['hybrid']['ndcg@10']:>6.3f} "
          f"{a['fact_recall']:>6.3f} {a['citation_precision']:>6.3f} {a['stage_accuracy']:>6.3f} "
          f"{a['idk_precision']:>6.3f} {a['idk_recall']:>6.3f} {a['latency_p50_ms']:>6.0f}")
PY
