#!/bin/bash
# The serve process's CPU per /v1/check, binaries side by side: each BIN
# runs `tosgate serve` (built-in default pack, 10,000 enterprise accounts,
# gateway.threads 2, audit in a temporary SQLite file with DURABILITY), and
# `wrk -t1 -c CONNECTIONS -d DURATION --latency` cycles 10,000 keys against
# each in turn, ROUNDS times. For each run it prints req/s, the p50, and the
# CPU (user + system, every thread) the serve process used from the start of
# the run until 3 s after it, so that an async writer's backlog is counted
# where it was made. CPU per request is much steadier than req/s on a box
# others are loading. Public tools: wrk, curl.
#
#   ROUNDS=3 CONNECTIONS=32 DURABILITY=async bench/audit_serve_cpu.sh build/tosgate /tmp/old-tosgate
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 TOSGATE [TOSGATE...]" >&2; exit 2; }
ROUNDS=${ROUNDS:-3}; CONNECTIONS=${CONNECTIONS:-32}; DURATION=${DURATION:-5s}
DURABILITY=${DURABILITY:-async}; ACCOUNTS=10000
source "$(dirname "$0")/lib.sh"  # TMP, PIDS and their cleanup
write_bench_accounts "$ACCOUNTS" "$TMP/accounts.jsonl"
write_keys_lua "$ACCOUNTS" "$TMP/check.lua"
PORTS=(); NAMES=()
for b in "$@"; do
  n=${#PIDS[@]}; port=$((20000 + RANDOM % 20000)); admin=$((port + 1))
  mkdir -p "$TMP/$n"
  cat >"$TMP/$n/c.yaml" <<YAML
listen: {gateway: 127.0.0.1:$port, admin: 127.0.0.1:$admin}
audit: {path: $TMP/$n/audit.db, durability: $DURABILITY}
accounts: {file: $TMP/accounts.jsonl}
gateway: {threads: 2}
YAML
  "$b" serve --config "$TMP/$n/c.yaml" >"$TMP/$n/out" 2>"$TMP/$n/err" &
  PIDS+=($!); PORTS+=("$port"); NAMES+=("$b")
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$admin/readyz" >/dev/null && break; sleep 0.2; done
done
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
tck=$(getconf CLK_TCK)
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
  for j in "${!PIDS[@]}"; do
    c0=$(cpu "${PIDS[$j]}")
    out=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$TMP/check.lua" \
              -H "X-Original-Method: POST" -H "X-Original-URI: /v1/chat/completions" \
              "http://127.0.0.1:${PORTS[$j]}/v1/check")
    sleep 3
    c1=$(cpu "${PIDS[$j]}")
    awk -v r="$r" -v b="${NAMES[$j]}" -v c=$((c1 - c0)) -v t="$tck" \
        -v n="$(awk '/requests in/ { print $1 }' <<<"$out")" \
        -v rps="$(awk '/Requests\/sec/ { print $2 }' <<<"$out")" \
        -v p50="$(awk '$1 == "50%" { print $2 }' <<<"$out")" \
        'BEGIN { printf "round %d  %-28s %9.0f req/s  p50 %-9s CPU %6.1f us/request\n", r, b, rps, p50, c / t / n * 1e6 }'
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
