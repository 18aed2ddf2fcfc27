#!/usr/bin/env bash
# Checks per second: Envoy's two ext_authz transports to tosgate, in one run,
# alternated (A B A B ...), with the same policies (the default pack), the
# same accounts and the same chat-completion check (body included):
#
#   http-check   tosgate serve's forward-auth endpoint, Envoy style
#                (POST /v1/check/v1/chat/completions), driven by wrk
#   grpc-check   tosgate-extauthz (envoy.service.auth.v3.Authorization/Check),
#                driven by extauthz_load (api/extauthz/load.cc), a blocking
#                gRPC client per connection as Envoy keeps one per worker
#
#   bench/extauthz_compare.sh [BUILD_DIR]     # default: build
#
# Settings (environment): ROUNDS=3 DURATION=10 CONNECTIONS=16 THREADS=2
#   (gateway and gRPC server threads: both get the machine) ACCOUNTS=10000
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
for f in "$TOSGATE" "$EXTAUTHZ" "$LOAD"; do
  [ -x "$f" ] || { echo "missing $f (ninja -C build tosgate tosgate-extauthz extauthz_load)" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "wrk is missing: run scripts/install-deps.sh" >&2; exit 2; }
source "$ROOT/bench/lib.sh"
free_port GW; free_port ADMIN; free_port GRPC

awk -v n="$ACCOUNTS" 'BEGIN { for (i = 1; i <= n; i++)
  printf "{\"id\":\"acct_%d\",\"org\":\"org_%d\",\"tier\":\"enterprise\",\"flags\":[],\"keys\":[\"sk-bench-%d\"]}\n", i, i % 100, i }' \
  >"$TMP/accounts.jsonl"
cat >"$TMP/serve.yaml" <<EOF2
listen: {gateway: 127.0.0.1:$GW, admin: 127.0.0.1:$ADMIN}
policies: {dir: $ROOT/policies/packs/default}
accounts: {file: $TMP/accounts.jsonl}
audit: {path: $TMP/serve.db, durability: async}
gateway: {threads: $THREADS, control_listen: "off"}
EOF2
"$TOSGATE" serve --config "$TMP/serve.yaml" >"$TMP/serve.out" 2>"$TMP/serve.err" &
PIDS+=($!)
"$EXTAUTHZ" --listen "127.0.0.1:$GRPC" --policies "$ROOT/policies/packs/default" \
  --accounts "$TMP/accounts.jsonl" --audit "$TMP/extauthz.db" 2>"$TMP/extauthz.err" &
PIDS+=($!)
wait_for "http://127.0.0.1:$ADMIN/readyz" || { cat "$TMP/serve.err" >&2; exit 1; }
for _ in $(seq 200); do grep -q listening "$TMP/extauthz.err" && break; sleep 0.1; done

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

declare -A RESULTS
echo "default pack, $ACCOUNTS accounts, $CONNECTIONS connections, $THREADS server threads, ${DURATION}s x $ROUNDS rounds, $(nproc) cores"
for r in $(seq "$ROUNDS"); do
  out=$(wrk -t 1 -c "$CONNECTIONS" -d "${DURATION}s" -s "$TMP/check.lua" "http://127.0.0.1:$GW")
  http=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $5 }' <<<"$out")
  read -r grpc refused < <("$LOAD" "127.0.0.1:$GRPC" "$DURATION" "$CONNECTIONS" "$ACCOUNTS")
  printf ' round %d: http-check %8.0f/s (%s not 2xx)   grpc-check %8.0f/s (%s not OK)\n' \
    "$r" "$http" "${non2xx:-0}" "$grpc" "$refused" >&2
  RESULTS[http]+="$http "
  RESULTS[grpc]+="$grpc "
done
h=$(printf '%s\n' ${RESULTS[http]} | median)
g=$(printf '%s\n' ${RESULTS[grpc]} | median)
printf ' http-check %8.0f checks/s (median of %s)\n' "$h" "${RESULTS[http]% }"
printf ' grpc-check %8.0f checks/s (median of %s) ratio to http-check %.2f\n' "$g" "${RESULTS[grpc]% }" \
  "$(awk -v a="$g" -v b="$h" 'BEGIN { print a / b }')"
