#!/usr/bin/env bash
# Builds tosgate and starts the gateway on its built-in defaults: the default
# policy pack, in-memory limits, a SQLite audit store in ./var. Extra
# arguments go to `tosgate serve` (e.g. --config FILE, --policies DIR).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
scripts/install-deps.sh
cmake -S . -B "$BUILD_DIR" -G Ninja >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target tosgate
exec "$BUILD_DIR/tosgate" serve "$@"
