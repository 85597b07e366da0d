#!/usr/bin/env bash
# Evaluates retrieval and answers on every corpus with a question set here, in one command:
#   benches/answers/run.sh [--llm-double] [BINARY] [CORPORA_DIR]
# For each `NAME.jsonl` beside this script it ingests CORPORA_DIR/NAME (default ../shared/corpora) into a
# data dir of its own under target/eval/NAME (incremental: re-runs only re-embed what changed), creates an
# agent with derived defaults, then runs
# `eval` (nDCG@10 etc. per mode and per stage) and `eval-answers --json` (fact recall, citation precision,
# stage accuracy, "I don't know" precision/recall, latency, confusion matrix, per-question records).
# Results go to target/eval/NAME/{retrieval,answers}.json; a summary table is printed at the end.
# sample-kb is evaluated too (its own queries.jsonl), as the smoke test it is.
# With --llm-double the answers are evaluated a second time through the optional LLM path, against
# llm_double.py (a protocol-true OpenAI-compatible stand-in on 127.0.0.1, see its header), into
# answers-llm.json.
set -euo pipefail
llm_double=0
if [ "${1:-}" = "--llm-double" ]; then llm_double=1; shift; fi
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
  if [ "$llm_double" = 1 ]; then
    echo "== $name: eval-answers through the LLM path (llm_double.py)" >&2
    THROUGHLINE_LLM_BASE_URL="http://127.0.0.1:$llm_port/v1" THROUGHLINE_LLM_MODEL=double \
      "$bin" --data-dir "$dir/data" eval-answers --agent "$agent" --queries "$queries" --json > "$dir/answers-llm.json"
  fi
}

if [ "$llm_double" = 1 ]; then
  llm_port=18799
  python3 "$here/llm_double.py" "$llm_port" &
  llm_pid=$!
  trap 'kill $llm_pid 2>/dev/null || true' EXIT
  for _ in $(seq 50); do
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$llm_port/v1/models')" 2>/dev/null && break
    sleep 0.1
  done
fi

names=()
for q in "$here"/*.jsonl; do
  name="$(basename "$q" .jsonl)"
  [ -d "$corpora/$name" ] || { echo "skip $name: no $corpora/$name" >&2; continue; }
  run_one "$name" "$corpora/$name" "$q"
  names+=("$name")
done
run_one sample "$root/sample-kb" "$root/sample-kb/queries.jsonl"
names+=(sample)

python3 - "$out" "$llm_double" "${names[@]}" <<'PY'
import json, sys
out, llm, names = sys.argv[1], sys.argv[2] == "1", sys.argv[3:]
print(f"{'corpus':<10} {'bm25':>6} {'vector':>6} {'hybrid':>6} {'facts':>6} {'cites':>6} {'stage':>6} {'idkP':>6} {'idkR':>6} {'p50ms':>6}")
for n in names:
    r = json.load(open(f"{out}/{n}/retrieval.json")); a = json.load(open(f"{out}/{n}/answers.json"))
    print(f"{n:<10} {r['bm25']['ndcg@10']:>6.3f} {r['vector']['ndcg@10']:>6.3f} {r['hybrid']['ndcg@10']:>6.3f} "
          f"{a['fact_recall']:>6.3f} {a['citation_precision']:>6.3f} {a['stage_accuracy']:>6.3f} "
          f"{a['idk_precision']:>6.3f} {a['idk_recall']:>6.3f} {a['latency_p50_ms']:>6.0f}")
    if llm:
        a = json.load(open(f"{out}/{n}/answers-llm.json"))
        print(f"{n + '+llm':<10} {'':>6} {'':>6} {'':>6} {a['fact_recall']:>6.3f} {a['citation_precision']:>6.3f} "
              f"{a['stage_accuracy']:>6.3f} {a['idk_precision']:>6.3f} {a['idk_recall']:>6.3f} {a['latency_p50_ms']:>6.0f}")
PY
