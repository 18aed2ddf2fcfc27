#!/usr/bin/env bash
# Builds tosgate and runs every test: unit tests, the nginx and Caddy integration tests,
# and the validation and policy tests of the shipped policy packs. Installs what it needs.
#   scripts/test.sh                 # RelWithDebInfo build in build/
#   BUILD_DIR=build-asan SANITIZE=address scripts/test.sh
#   BUILD_DIR=build-tsan SANITIZE=thread scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
SANITIZE=${SANITIZE:-}
JOBS=${JOBS:-$(nproc)}

scripts/install-deps.sh
# The proxy integration tests fail, rather than skip, when a proxy is missing.
export TOSGATE_REQUIRE_PROXIES=1
cmake -S . -B "$BUILD_DIR" -G Ninja -DTOSGATE_WERROR=ON -DTOSGATE_SANITIZE="$SANITIZE"
cmake --build "$BUILD_DIR" -j "$JOBS"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS"
# The concurrency tests once more under ThreadSanitizer; any report fails.
if [[ -z "$SANITIZE" && "${TSAN:-1}" == 1 ]]; then
  cmake -S . -B build-tsan -G Ninja -DTOSGATE_WERROR=ON -DTOSGATE_SANITIZE=thread \
    -DTOSGATE_BUILD_BENCH=OFF
  cmake --build build-tsan -j "$JOBS" --target engine_test
  TSAN_OPTIONS="halt_on_error=1 exitcode=66" build-tsan/tests/engine_test \
    --test-case='*concurren*,*8 threads*,*64 concurrent*'
fi
for pack in policies/packs/*/; do
  "$BUILD_DIR/tosgate" validate "$pack"
  "$BUILD_DIR/tosgate" test "$pack"
done
echo "tosgate: all tests passed"
