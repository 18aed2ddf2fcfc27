#!/usr/bin/env bash
# Builds tosgate and runs every test: unit tests, the nginx integration test,
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
cmake -S . -B "$BUILD_DIR" -G Ninja -DTOSGATE_WERROR=ON -DTOSGATE_SANITIZE="$SANITIZE"
cmake --build "$BUILD_DIR" -j "$JOBS"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS"
for pack in policies/packs/*/; do
  "$BUILD_DIR/tosgate" validate "$pack"
  "$BUILD_DIR/tosgate" test "$pack"
done
echo "tosgate: all tests passed"
