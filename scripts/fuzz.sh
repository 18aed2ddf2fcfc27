#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each for a while,
# one after the other, at the lowest CPU priority.
#   scripts/fuzz.sh                      # every target, 60 s each
#   scripts/fuzz.sh 600                  # every target, 10 min each
#   scripts/fuzz.sh 600 body_parser capture
# Targets: policy_loader body_parser forward_auth capture test_file audit_record.
# New inputs go to build-fuzz/corpus/<target>/ (the seeds in tests/fuzz/corpus/
# are read, never written); a crash is written to build-fuzz/crashes/<target>/
# and the script exits non-zero. docs/hardening.md says what to do with one.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${1:-60}
shift || true
ALL=(policy_loader body_parser forward_auth capture test_file audit_record)
TARGETS=("$@")
[[ ${#TARGETS[@]} -gt 0 ]] || TARGETS=("${ALL[@]}")
BUILD_DIR=${BUILD_DIR:-build-fuzz}
JOBS=${JOBS:-2}

command -v clang++ >/dev/null || { echo "fuzz.sh: needs clang (apt-get install -y clang)" >&2; exit 2; }
CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -G Ninja -DTOSGATE_FUZZ=ON -DTOSGATE_SANITIZE=address \
  -DTOSGATE_BUILD_BENCH=OFF >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS" --target "${TARGETS[@]/#/fuzz_}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
failed=0
for t in "${TARGETS[@]}"; do
  corpus="$BUILD_DIR/corpus/$t" crashes="$BUILD_DIR/crashes/$t"
  mkdir -p "$corpus" "$crashes"
  log="$BUILD_DIR/fuzz-$t.log"
  echo "== $t: ${SECONDS_EACH}s (log: $log)"
  # -timeout: one input taking longer is a hang, reported like a crash;
  # -rss_limit_mb: the same for an input that makes memory run away.
  if nice -n 19 "$BUILD_DIR/tests/fuzz/fuzz_$t" -max_total_time="$SECONDS_EACH" -timeout=10 \
       -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
       -artifact_prefix="$crashes/" "$corpus" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^#[0-9]+ +DONE' "$log" | tail -2 || true
  else
    failed=1
    echo "!! $t found a problem: $(ls "$crashes" | head -3 | tr '\n' ' ')" >&2
    grep -E 'ERROR|runtime error|SUMMARY' "$log" | head -5 >&2 || true
  fi
done
exit $failed
