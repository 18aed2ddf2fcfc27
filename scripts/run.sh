#!/usr/bin/env bash
# Builds tosgate and starts the gateway on its built-in defaults: the default
# policy pack, in-memory limits, a SQLite audit store in ./var, and a mock
# model API on 127.0.0.1:8000 (tosgate mock-upstream) that the gateway
# proxies allowed requests to (inline mode): clients on 127.0.0.1:8080,
# forward-auth checks and usage reports on the control listener,
# 127.0.0.1:8081 (serve's banner prints both, with requests to try). Extra
# arguments go to `tosgate serve` (e.g. --config FILE, --policies DIR,
# --control-listen HOST:PORT). NO_MOCK=1 starts the gateway alone, for
# forward auth only: checks and usage reports on 127.0.0.1:8080.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
scripts/install-deps.sh
cmake -S . -B "$BUILD_DIR" -G Ninja >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target tosgate
if [ "${NO_MOCK:-0}" = 1 ]; then
  exec "$BUILD_DIR/tosgate" serve "$@"
fi
"$BUILD_DIR/tosgate" mock-upstream --listen 127.0.0.1:8000 &
MOCK=$!
trap 'kill "$MOCK" 2>/dev/null || true' EXIT
"$BUILD_DIR/tosgate" serve --upstream http://127.0.0.1:8000 "$@"
