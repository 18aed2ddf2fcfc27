#!/usr/bin/env bash
# Checks per second: Envoy's two ext_authz transports to tosgate, in one run,
# alternated (A B C A B C ...), with the same policies (the default pack), the
# same accounts and the same chat-completion check (body included):
#
#   http-check     tosgate serve's forward-auth endpoint, Envoy style
#                  (POST /v1/check/v1/chat/completions), driven by wrk
#   grpc-check     tosgate-extauthz (envoy.service.auth.v3.Authorization/Check,
#                  gRPC's callback API, its default), driven by extauthz_load
#                  (api/extauthz/load.cc): one thread, a completion queue, one
#                  check in flight per connection, as wrk keeps one per
#                  connection
#   grpc-sync      the same server with --api sync (a thread hand-over per call)
#
# Besides checks per second (which the client's and the other processes'
# CPU on the same machine bound), each line gives the server's own CPU per
# check (user + system time of its process over the round, from
# /proc/PID/stat, divided by the checks it answered): what a quiet machine
# would scale by.
#
#   bench/extauthz_compare.sh [BUILD_DIR]     # default: build
#
# Settings (environment): ROUNDS=3 DURATION=10 CONNECTIONS=16 THREADS=2
#   (tosgate serve's gateway threads; gRPC sizes its own pool) ACCOUNTS=10000
#   POLICIES=policies/packs/default
# Both write a SQLite audit store without waiting for each commit (serve:
# durability async; tosgate-extauthz --audit).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
TOSGATE=$BUILD/tosgate
EXTAUTHZ=$BUILD/api/extauthz/tosgate-extauthz
LOAD=$BUILD/api/extauthz/extauthz_load
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
ACCOUNTS=${ACCOUNTS:-10000}
POLICIES=${POLICIES:-$ROOT/policies/packs/default}
for f in "$TOSGATE" "$EXTAUTHZ" "$LOAD"; do
  [ -x "$f" ] || { echo "missing $f (ninja -C build tosgate tosgate-extauthz extauthz_load)" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "wrk is missing: run scripts/install-deps.sh" >&2; exit 2; }
source "$ROOT/bench/lib.sh"
free_port GW; free_port ADMIN; free_port GRPC; free_port GRPC_SYNC

write_bench_accounts "$ACCOUNTS" "$TMP/accounts.jsonl"
cat >"$TMP/serve.yaml" <<EOF2
listen: {gateway: 127.0.0.1:$GW, admin: 127.0.0.1:$ADMIN}
policies: {dir: $POLICIES}
accounts: {file: $TMP/accounts.jsonl}
audit: {path: $TMP/serve.db, durability: async}
gateway: {threads: $THREADS, control_listen: "off"}
EOF2
"$TOSGATE" serve --config "$TMP/serve.yaml" >"$TMP/serve.out" 2>"$TMP/serve.err" &
SERVE_PID=$!
PIDS+=($SERVE_PID)
"$EXTAUTHZ" --listen "127.0.0.1:$GRPC" --policies "$POLICIES" \
  --accounts "$TMP/accounts.jsonl" --audit "$TMP/extauthz.db" 2>"$TMP/extauthz.err" &
GRPC_PID=$!
PIDS+=($GRPC_PID)
"$EXTAUTHZ" --listen "127.0.0.1:$GRPC_SYNC" --policies "$POLICIES" --api sync \
  --accounts "$TMP/accounts.jsonl" --audit "$TMP/extauthz-sync.db" 2>"$TMP/extauthz-sync.err" &
GRPC_SYNC_PID=$!
PIDS+=($GRPC_SYNC_PID)
wait_for "http://127.0.0.1:$ADMIN/readyz" || { cat "$TMP/serve.err" >&2; exit 1; }
for f in extauthz extauthz-sync; do
  for _ in $(seq 200); do grep -q listening "$TMP/$f.err" && break; sleep 0.1; done
done

BODY='{"model":"m-large","messages":[{"role":"user","content":"hello"}],"max_tokens":16}'
cat >"$TMP/check.lua" <<EOF2
local accounts = $ACCOUNTS
local reqs, i = {}, 0
function setup(thread) thread:set("offset", math.random(accounts)) end
function init(args)
  wrk.method = "POST"
  wrk.body = [[$BODY]]
  wrk.headers["Content-Type"] = "application/json"
  for k = 1, accounts do
    wrk.headers["Authorization"] = "Bearer sk-bench-" .. k
    reqs[k] = wrk.format(nil, "/v1/check/v1/chat/completions")
  end
  i = offset
end
function request() i = i % accounts + 1; return reqs[i] end
EOF2

# cpu PID: user + system time of the process so far, in microseconds.
HZ=$(getconf CLK_TCK)
cpu() { awk -v hz="$HZ" '{ sub(/^.*\) /, ""); print ($12 + $13) * 1000000 / hz }' "/proc/$1/stat"; }
# run NAME PID COMMAND...: one round of a peer; records its rate and the
# server's CPU per check.
declare -A RESULTS CPU
run() {
  local name=$1 pid=$2 before after rate bad
  shift 2
  before=$(cpu "$pid")
  read -r rate bad < <("$@")
  after=$(cpu "$pid")
  local per=$(awk -v a="$before" -v b="$after" -v r="$rate" -v d="$DURATION" 'BEGIN { printf "%.1f", (b - a) / (r * d) }')
  printf '   %-10s %8.0f checks/s (%s refused), server CPU %6s us/check\n' "$name" "$rate" "${bad:-0}" "$per" >&2
  RESULTS[$name]+="$rate "
  CPU[$name]+="$per "
}
http_load() {
  local out
  out=$(wrk -t 1 -c "$CONNECTIONS" -d "${DURATION}s" -s "$TMP/check.lua" "http://127.0.0.1:$GW")
  echo "$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out") $(awk '/Non-2xx or 3xx responses:/ { print $5 }' <<<"$out")"
}

echo "$(basename "$POLICIES") policies, $ACCOUNTS accounts, $CONNECTIONS connections, $THREADS gateway threads, ${DURATION}s x $ROUNDS rounds, $(nproc) cores"
for r in $(seq "$ROUNDS"); do
  echo " round $r" >&2
  run http-check "$SERVE_PID" http_load
  run grpc-check "$GRPC_PID" "$LOAD" "127.0.0.1:$GRPC" "$DURATION" "$CONNECTIONS" "$ACCOUNTS"
  run grpc-sync "$GRPC_SYNC_PID" "$LOAD" "127.0.0.1:$GRPC_SYNC" "$DURATION" "$CONNECTIONS" "$ACCOUNTS"
done
h=$(printf '%s\n' ${RESULTS[http-check]} | median)
for name in http-check grpc-check grpc-sync; do
  m=$(printf '%s\n' ${RESULTS[$name]} | median)
  c=$(printf '%s\n' ${CPU[$name]} | median)
  printf ' %-10s %8.0f checks/s (median of %s) ratio to http-check %.2f; server CPU %s us/check\n' \
    "$name" "$m" "${RESULTS[$name]% }" "$(awk -v a="$m" -v b="$h" 'BEGIN { print a / b }')" "$c"
done
