#!/usr/bin/env bash
# Builds tosgate and starts the gateway on its built-in defaults: the default
# policy pack (rate limits and token budgets by tier, the prohibited-use
# categories, declared, stated and detected competitor training, logit
# extraction), in-memory limits, a SQLite audit store in ./var, and a mock
# model API on 127.0.0.1:8000 (tosgate mock-upstream) that the gateway
# proxies allowed requests to (inline mode): clients on 127.0.0.1:8080,
# forward-auth checks and usage reports on the control listener,
# 127.0.0.1:8081 (serve's banner prints both, with requests to try), the
# admin API on 127.0.0.1:9090.
#
#   ./scripts/run.sh             # then, in another terminal: ./scripts/demo.sh
#   ./scripts/run.sh --demo      # runs scripts/demo.sh once the gateway is ready
#
# Extra arguments go to `tosgate serve` (e.g. --config FILE, --policies DIR,
# --control-listen HOST:PORT). NO_MOCK=1 starts the gateway alone, for
# forward auth only: checks and usage reports on 127.0.0.1:8080.
set -euo pipefail
cd "$(dirname "$0")/.."

DEMO=0
ARGS=()
for a in "$@"; do
  if [ "$a" = --demo ]; then DEMO=1; else ARGS+=("$a"); fi
done

BUILD_DIR=${BUILD_DIR:-build}
scripts/install-deps.sh
cmake -S . -B "$BUILD_DIR" -G Ninja >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target tosgate
if [ "${NO_MOCK:-0}" = 1 ]; then
  exec "$BUILD_DIR/tosgate" serve "${ARGS[@]}"
fi

cat <<'TEXT'

tosgate: starting the gateway with the built-in default policy pack
(`tosgate validate` and `tosgate test` show it; docs/getting-started.md explains it).
What it decides, request by request, with commands you can copy:

  ./scripts/demo.sh     # in another terminal: an allow, a throttle with its RateLimit
                        # fields, a prohibited request and a training purpose denied,
                        # a scripted harvest flagged and watermarked, then the audit rows
  sqlite3 var/tosgate.db 'select time_ms, account, effect, status, reason, rule_ids from decisions'
  build/tosgate audit query --effect deny          # the same store, through tosgate
  build/tosgate init my-policies                   # your own policy set, importing the built-in packs

TEXT

"$BUILD_DIR/tosgate" mock-upstream --listen 127.0.0.1:8000 &
MOCK=$!
if [ "$DEMO" = 0 ]; then
  trap 'kill "$MOCK" 2>/dev/null || true' EXIT
  "$BUILD_DIR/tosgate" serve --upstream http://127.0.0.1:8000 "${ARGS[@]}"
  exit
fi

# --demo: the gateway in the background until it is ready, the demo, then
# the gateway in the foreground (Ctrl-C stops both).
"$BUILD_DIR/tosgate" serve --upstream http://127.0.0.1:8000 "${ARGS[@]}" &
SERVE=$!
trap 'kill "$SERVE" "$MOCK" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -sf -o /dev/null http://127.0.0.1:9090/readyz && break
  kill -0 "$SERVE" 2>/dev/null || exit 1
  sleep 0.1
done
TOSGATE="$BUILD_DIR/tosgate" scripts/demo.sh
echo
echo "tosgate: the gateway keeps running; Ctrl-C stops it"
wait "$SERVE"
