#!/usr/bin/env bash
# One part of the paper's study, re-run with the paper's g (issue 26): the strategies below, on every
# benchmark subject, for the seeds given, in one single-threaded process (run two parts at once on two
# cores). Resumable: run it again with the same arguments and it continues where it stopped.
#
#   notebooks/paper-study-v2/run-part.sh SEEDS [SUBJECTS]     e.g.  run-part.sh 0   or   run-part.sh 1 all
#
# Each part writes notebooks/paper-study-v2/parts/seeds-SEEDS[-SUBJECTS]/; the notebook concatenates
# the parts' results.jsonl (units are keyed by subject and seed, so parts must not overlap).
set -euo pipefail
cd "$(dirname "$0")/../.."
seeds=${1:?seeds, e.g. 0 or 1,2}
subjects=${2:-all}
name="seeds-${seeds//,/-}"; [ "$subjects" = all ] || name="$name-${subjects//,/-}"
GRADTI_THREADS=1 exec .build/release/gradti study --results "notebooks/paper-study-v2/parts/$name" \
    --strategies uniform,900-1000,0-100,350-450,t400,highgrad-model,highgrad,adaptive,adaptive-mse \
    --steps 300 --every 25 --seeds "$seeds" --subjects "$subjects" --images 4 --similarity-steps 10
