#!/usr/bin/env bash
# The re-run's parts (run-part.sh 0, 1, 2) put together into notebooks/paper-study-v2/all/ and summarised over
# every seed: results.jsonl concatenated, the first part's plan.json (the settings every part shares; a
# summary checks them), then `gradti study` on the whole, which finds every unit done and only aggregates.
#
#   notebooks/paper-study-v2/combine.sh          (refuses while a part is unfinished: it would train)
set -euo pipefail
cd "$(dirname "$0")/../.."
here=notebooks/paper-study-v2
subjects=$(python3 -c "import json; print(len(json.load(open('data/emoji-benchmark/subjects.json'))))")
seeds=()
for part in "$here"/parts/seeds-*; do
    units=$(grep -c . "$part/results.jsonl" || true)
    if [ "$units" -ne "$subjects" ]; then
        echo "combine.sh: $part has $units of $subjects units: finish it first (run-part.sh)" >&2
        exit 1
    fi
    seeds+=("${part##*/seeds-}")
done
mkdir -p "$here/all"
cat "$here"/parts/seeds-*/results.jsonl > "$here/all/results.jsonl"
cp "$here/parts/seeds-${seeds[0]}/plan.json" "$here/all/plan.json"
list=$(IFS=,; echo "${seeds[*]}")
GRADTI_THREADS=1 exec .build/release/gradti study --results "$here/all" \
    --strategies uniform,900-1000,0-100,350-450,t400,highgrad-model,highgrad,adaptive,adaptive-mse \
    --steps 300 --every 25 --seeds "$list" --subjects all --images 4 --similarity-steps 10
