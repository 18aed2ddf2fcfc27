#!/usr/bin/env bash
# Issue 27's demonstration, measured: three `tosgate serve` processes on
# loopback - A detects a simulated distillation campaign and publishes it
# as a TAXII 2.1 collection, B polls it, B0 does not - and the same
# campaign's fresh accounts replayed against B and B0 alternately. Prints
# the requests each fresh account needs until competitor_training catches
# it, at B and at B0, their medians, and the benign accounts' (never).
#
#   bench/indicators_demo.sh [BUILD_DIR]
#
# The measurement is tests/integration/indicators_share_test.cc (the same
# run CTest does, label integration), with TOSGATE_DEMO_REPORT=1. Builds
# nothing: `ninja -C build tosgate integration_test` first.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
TEST=$BUILD/tests/integration_test
[[ -x $TEST && -x $BUILD/tosgate ]] || { echo "indicators_demo: build tosgate and integration_test in $BUILD first" >&2; exit 2; }
TOSGATE_DEMO_REPORT=1 "$TEST" -tc='indicators: B polls*' -s=false
