#!/usr/bin/env bash
# Four ways to put an API behind a gateway, measured side by side with wrk
# (keep-alive), all to the same mock upstream (tosgate mock-upstream):
#
#   nginx-proxy       nginx proxying alone
#   nginx-limit_req   nginx with limit_req (a per-key zone, a rate nothing hits)
#   nginx+tosgate     nginx + auth_request -> tosgate (deploy/nginx/tosgate.conf)
#   tosgate-inline    tosgate's inline proxy (serve --upstream)
#   nginx+module      nginx with tosgate's module deciding in process, body
#                     included (plugins/nginx/; the same default pack and
#                     accounts; no audit: see docs/deploy-nginx.md), when
#                     the module was built
#
#   bench/proxy_compare.sh [TOSGATE_BINARY]           # default: build/tosgate
#
# Settings (environment): MODULE=build/plugins/nginx/ngx_http_tosgate_module.so
#   MODULE_POLICIES=policies/packs/default ROUNDS=3 DURATION=10s THREADS=1 CONNECTIONS=64
#   GATEWAY_THREADS=2 NGINX_WORKERS=2 MOCK_THREADS=1 AUDIT=async ACCOUNTS=10000
# Rounds are interleaved (A B C D A B C D ...); the summary gives medians and
# each one's ratio to nginx-proxy. Builds nothing; cleans up on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOSGATE=${1:-$ROOT/build/tosgate}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
THREADS=${THREADS:-1}
CONNECTIONS=${CONNECTIONS:-64}
GATEWAY_THREADS=${GATEWAY_THREADS:-2}
NGINX_WORKERS=${NGINX_WORKERS:-2}
MOCK_THREADS=${MOCK_THREADS:-1}
AUDIT=${AUDIT:-async}
ACCOUNTS=${ACCOUNTS:-10000}
NGINX=${NGINX:-/usr/sbin/nginx}
MODULE=${MODULE:-$ROOT/build/plugins/nginx/ngx_http_tosgate_module.so}

[ -x "$TOSGATE" ] || { echo "no tosgate binary at $TOSGATE (build it, or pass its path)" >&2; exit 2; }
for tool in "$NGINX" wrk curl; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: run scripts/install-deps.sh" >&2; exit 2; }
done
source "$ROOT/bench/lib.sh"
free_port MOCK; free_port GW; free_port ADMIN; free_port INLINE; free_port INLINE_ADMIN
free_port N_PLAIN; free_port N_LIMIT; free_port N_AUTH; free_port N_MODULE
chmod 755 "$TMP"  # nginx's workers (an unprivileged user) read the accounts file

"$TOSGATE" mock-upstream --listen "127.0.0.1:$MOCK" --threads "$MOCK_THREADS" 2>"$TMP/mock.err" &
PIDS+=($!)

awk -v n="$ACCOUNTS" 'BEGIN { for (i = 1; i <= n; i++)
  printf "{\"id\":\"acct_%d\",\"org\":\"org_%d\",\"tier\":\"enterprise\",\"flags\":[],\"keys\":[\"sk-bench-%d\"]}\n", i, i % 100, i }' \
  >"$TMP/accounts.jsonl"
for name in forward inline; do
  if [ $name = forward ]; then gw=$GW admin=$ADMIN up=""; else gw=$INLINE admin=$INLINE_ADMIN up="upstream: {url: http://127.0.0.1:$MOCK}"; fi
  cat >"$TMP/$name.yaml" <<EOF
listen: {gateway: 127.0.0.1:$gw, admin: 127.0.0.1:$admin}
audit: {path: $TMP/$name.db, durability: $AUDIT}
accounts: {file: $TMP/accounts.jsonl}
gateway: {threads: $GATEWAY_THREADS, control_listen: "off"}
$up
EOF
  "$TOSGATE" serve --config "$TMP/$name.yaml" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  PIDS+=($!)
done

MODULE_SERVER=""
if [ -f "$MODULE" ]; then
  # The module decides with the default pack (what `serve` runs without
  # --policies) and the same accounts, body included.
  MODULE_SERVER="  tosgate_policies ${MODULE_POLICIES:-$ROOT/policies/packs/default};
  tosgate_accounts $TMP/accounts.jsonl;
  server {
    listen 127.0.0.1:$N_MODULE;
    location / {
      tosgate on; tosgate_body on;
      proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_pass http://model_api;
    }
  }"
fi
nginx_conf "$GW" "$MOCK" "$(cat <<EOF
  limit_req_zone \$http_authorization zone=perkey:32m rate=100000r/s;
  server {
    listen 127.0.0.1:$N_PLAIN;
    location / { proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://model_api; }
  }
  server {
    listen 127.0.0.1:$N_LIMIT;
    location / {
      limit_req zone=perkey burst=1000 nodelay;
      proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://model_api;
    }
  }
  server { listen 127.0.0.1:$N_AUTH; include $TMP/snippets/tosgate.conf; }
$MODULE_SERVER
EOF
)"
[ -f "$MODULE" ] && sed -i "1i load_module $MODULE;" "$TMP/nginx.conf"
"$NGINX" -e "$TMP/nginx-error.log" -p "$TMP" -c "$TMP/nginx.conf" -g 'daemon off;' &
PIDS+=($!)

wait_for "http://127.0.0.1:$ADMIN/readyz" || { cat "$TMP/forward.err" >&2; exit 1; }
wait_for "http://127.0.0.1:$INLINE_ADMIN/readyz" || { cat "$TMP/inline.err" >&2; exit 1; }
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$N_PLAIN/" && break; sleep 0.1; done

BODY='{"model":"m-large","messages":[{"role":"user","content":"hello"}],"max_tokens":16}'
cat >"$TMP/run.lua" <<EOF
-- A chat completion per request, spread over sk-bench-1..$ACCOUNTS; the
-- requests are formatted once per thread.
local accounts = $ACCOUNTS
local reqs = {}
local i = 0
function setup(thread) thread:set("offset", math.random(accounts)) end
function init(args)
  wrk.method = "POST"
  wrk.body = [[$BODY]]
  wrk.headers["Content-Type"] = "application/json"
  for k = 1, accounts do
    wrk.headers["Authorization"] = "Bearer sk-bench-" .. k
    reqs[k] = wrk.format(nil, "/v1/chat/completions")
  end
  i = offset
end
function request()
  i = i % accounts + 1
  return reqs[i]
end
EOF

NAMES=(nginx-proxy nginx-limit_req nginx+tosgate tosgate-inline)
URLS=("http://127.0.0.1:$N_PLAIN" "http://127.0.0.1:$N_LIMIT" "http://127.0.0.1:$N_AUTH" "http://127.0.0.1:$INLINE")
if [ -f "$MODULE" ]; then
  NAMES+=(nginx+module)
  URLS+=("http://127.0.0.1:$N_MODULE")
fi
declare -A RESULTS
echo "tosgate $TOSGATE (gateway threads $GATEWAY_THREADS, audit $AUDIT), nginx workers $NGINX_WORKERS,"
echo "mock upstream threads $MOCK_THREADS, $(nproc) cores; wrk -t $THREADS -c $CONNECTIONS -d $DURATION, $ROUNDS rounds"
for r in $(seq "$ROUNDS"); do
  echo " round $r" >&2
  for k in "${!NAMES[@]}"; do
    out=$(wrk -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" -s "$TMP/run.lua" "${URLS[$k]}")
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $5 }' <<<"$out")
    printf '  %-16s %8.0f req/s, %s not 2xx\n' "${NAMES[$k]}" "$rps" "${non2xx:-0}" >&2
    RESULTS[${NAMES[$k]}]+="$rps "
  done
done
base=$(printf '%s\n' ${RESULTS[nginx-proxy]} | median)
for name in "${NAMES[@]}"; do
  m=$(printf '%s\n' ${RESULTS[$name]} | median)
  printf ' %-16s %8.0f req/s (median of %s) ratio to nginx-proxy %.2f\n' "$name" "$m" "${RESULTS[$name]% }" \
    "$(awk -v a="$m" -v b="$base" 'BEGIN { print a / b }')"
done
