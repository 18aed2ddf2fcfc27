#!/usr/bin/env bash
# What competitor_training adds per request on the traffic simulator's
# traffic (issue 5's 2 µs target): simulates a capture with traffic_sim and
# replays it through the distillation pack with and without the rule
# (bench/distill_sim_bench; A B, B A, ... rounds, Engine::Check timed alone).
#
#   bench/distill_cost.sh [BUILD_DIR] [-- extra distill_sim_bench options]
#
# BUILD_DIR defaults to build/. Settings (environment): SEED=1. Builds
# nothing: ninja -C BUILD traffic_sim distill_sim_bench.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
if [[ $# -gt 0 && $1 != -- ]]; then BUILD=$1; shift; fi
[[ $# -gt 0 && $1 == -- ]] && shift
SEED=${SEED:-1}

for bin in "$BUILD/traffic_sim" "$BUILD/bench/distill_sim_bench"; do
  if [[ ! -x $bin ]]; then
    echo "distill_cost: $bin not found; build first: ninja -C $BUILD traffic_sim distill_sim_bench" >&2
    exit 2
  fi
done
OUT=$(mktemp -d /tmp/tosgate-distill-cost-XXXXXX)
trap 'rm -rf "$OUT"' EXIT
"$BUILD/traffic_sim" --seed "$SEED" --out "$OUT" --device-fingerprints >/dev/null
"$BUILD/bench/distill_sim_bench" --capture "$OUT/capture.jsonl" --accounts "$OUT/accounts.jsonl" \
  --policies "$ROOT/policies/packs/distillation" "$@"
