#!/usr/bin/env bash
# Starts a throwaway redis-server on a free loopback port and runs
# build/bench/fleet_bench against it (memory and Redis stores, same run).
#   bench/fleet_bench.sh [fleet_bench options...]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" >"$dir/redis.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
  if (echo > /dev/tcp/127.0.0.1/"$port") 2>/dev/null; then break; fi
  sleep 0.05
done
"$BUILD_DIR/bench/fleet_bench" --redis "redis://127.0.0.1:$port" "$@"
