#!/usr/bin/env bash
# Distillation detection, measured: simulates labelled traffic with
# traffic_sim (benign personas and campaigns) and replays it through the
# distillation pack with `tosgate replay --labels`, which prints per scenario
# the share of campaign accounts caught, the campaign requests before the
# first detection, the share of benign accounts flagged, and issue 5's targets.
#
#   bench/distill_eval.sh [BUILD_DIR] [-- extra traffic_sim options]
#
# BUILD_DIR defaults to build/. Settings (environment): BANK=eval and SEED=3
# (the reporting protocol: tune on BANK=train with SEED 1-2, report on
# BANK=eval with SEED >= 3; see docs/traffic-simulator.md), OUT (default:
# a temporary directory, removed at the end; set it to keep the files),
# POLICIES (default policies/packs/distillation), JSON=1 for the report as JSON,
# COST=1 to also measure what the competitor_training rule adds per request on
# the same capture (bench/distill_sim_bench; ROUNDS=7 replays a side).
# Builds nothing. See docs/traffic-simulator.md.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
if [[ $# -gt 0 && $1 != -- ]]; then BUILD=$1; shift; fi
[[ $# -gt 0 && $1 == -- ]] && shift
SEED=${SEED:-3}
BANK=${BANK:-eval}
case $BANK in
  eval) ;;
  train) echo "distill_eval: BANK=train: tuning figures, not results (report on BANK=eval, SEED >= 3)" >&2 ;;
  *) echo "distill_eval: BANK must be train or eval, not '$BANK'" >&2; exit 2 ;;
esac
POLICIES=${POLICIES:-$ROOT/policies/packs/distillation}

for bin in "$BUILD/traffic_sim" "$BUILD/tosgate"; do
  if [[ ! -x $bin ]]; then
    echo "distill_eval: $bin not found; build first: ninja -C $BUILD tosgate traffic_sim" >&2
    exit 2
  fi
done
if [[ ! -d $POLICIES ]]; then
  echo "distill_eval: no policy pack at $POLICIES (the distillation pack is missing)" >&2
  exit 2
fi

if [[ -n ${OUT:-} ]]; then
  mkdir -p "$OUT"
else
  OUT=$(mktemp -d /tmp/tosgate-distill-XXXXXX)
  trap 'rm -rf "$OUT"' EXIT
fi

start=$(date +%s.%N)
"$BUILD/traffic_sim" --seed "$SEED" --bank "$BANK" --out "$OUT" "$@"
mid=$(date +%s.%N)
args=(replay --policies "$POLICIES" --capture "$OUT/capture.jsonl" --accounts "$OUT/accounts.jsonl"
      --labels "$OUT/labels.jsonl")
[[ ${JSON:-0} == 1 ]] && args+=(--json)
status=0
"$BUILD/tosgate" "${args[@]}" || status=$?
end=$(date +%s.%N)
awk -v a="$start" -v b="$mid" -v c="$end" \
  'BEGIN { printf "\ndistill_eval: simulation %.1f s, replay and evaluation %.1f s\n", b - a, c - b }' >&2
if [[ ${COST:-0} == 1 ]]; then
  cost=$BUILD/bench/distill_sim_bench
  if [[ ! -x $cost ]]; then
    echo "distill_eval: $cost not found; build first: ninja -C $BUILD distill_sim_bench" >&2
    exit 2
  fi
  echo
  "$cost" --capture "$OUT/capture.jsonl" --accounts "$OUT/accounts.jsonl" --policies "$POLICIES" \
    --rounds "${ROUNDS:-7}" || status=$?
fi
exit $status
