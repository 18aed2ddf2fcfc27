#!/usr/bin/env bash
# Four ways to put an API behind a gateway, measured side by side with wrk
# (keep-alive), all to the same mock upstream (tosgate mock-upstream):
#
#   nginx-proxy       nginx proxying alone
#   nginx-limit_req   nginx with limit_req (a per-key zone, a rate nothing hits)
#   nginx+tosgate     nginx + auth_request -> tosgate (deploy/nginx/tosgate.conf)
#   tosgate-inline    tosgate's inline proxy (serve --upstream)
#   nginx+module      nginx with tosgate's module deciding in process, body
#                     included (plugins/nginx/; the same accounts, the
#                     policies of MODULE_POLICIES; no audit), when the module
#                     was built
#   nginx+module+audit  the same with its records sent to a
#                     tosgate-audit-writer (tosgate_audit_socket ... async;
#                     the writer --durability async), when MODULE_AUDIT=1
#
#   bench/proxy_compare.sh [TOSGATE_BINARY]           # default: build/tosgate
#
# Settings (environment): MODULE=build/plugins/nginx/ngx_http_tosgate_module.so
#   MODULE_POLICIES=policies/packs/default (a directory, or "one-rule": a
#   rate limit per account, the set bench/nginx_module_cost.sh counts)
#   MODULE_AUDIT=0 ROUNDS=3 DURATION=10s THREADS=1 CONNECTIONS=64
#   GATEWAY_THREADS=2 NGINX_WORKERS=2 MOCK_THREADS=1 AUDIT=async ACCOUNTS=10000
#   PEERS="nginx-proxy nginx+tosgate nginx+module" (a subset, in this order;
#   default: all)
# Rounds are interleaved (A B C D A B C D ...); the summary gives medians and
# each one's ratio to nginx-proxy, in requests per second and in the serving
# side's CPU per request (nginx's workers, plus tosgate serve or the audit
# writer where a peer has one; from /proc/PID/stat), which the load of a
# shared machine hardly moves. bench/nginx_module_cost.sh counts the
# module's instructions per request. Builds nothing; cleans up on exit.
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

write_bench_accounts "$ACCOUNTS" "$TMP/accounts.jsonl"
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
  [ $name = forward ] && FORWARD_PID=$! || INLINE_PID=$!
done

MODULE_SERVER=""
MODULE_POLICIES=${MODULE_POLICIES:-$ROOT/policies/packs/default}
if [ "$MODULE_POLICIES" = one-rule ]; then
  MODULE_POLICIES=$TMP/one-rule
  write_one_rule_policy "$MODULE_POLICIES"
fi
if [ -f "$MODULE" ]; then
  # The module decides with MODULE_POLICIES (by default the default pack,
  # what `serve` runs without --policies) and the same accounts, body
  # included. With MODULE_AUDIT=1 a second server of the same nginx sends
  # its records to a writer (the directive is per http block, so that
  # server's records go out too; one audit socket, one writer).
  MODULE_SERVER="  tosgate_policies $MODULE_POLICIES;
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
NGINX_PID=$!
PIDS+=($NGINX_PID)
AUDIT_NGINX_PID="" WRITER_PID=""

# nginx+module+audit: a second nginx (tosgate_audit_socket is per http
# block) whose module sends its records to one writer, both async.
if [ -f "$MODULE" ] && [ "${MODULE_AUDIT:-0}" = 1 ]; then
  WRITER=${WRITER:-$(dirname "$TOSGATE")/tools/audit_writer/tosgate-audit-writer}
  [ -x "$WRITER" ] || { echo "MODULE_AUDIT=1 needs $WRITER" >&2; exit 2; }
  free_port N_AUDIT
  "$WRITER" --socket "$TMP/audit.sock" --audit "$TMP/module-audit.db" --durability async 2>"$TMP/writer.err" &
  WRITER_PID=$!
  PIDS+=($WRITER_PID)
  for _ in $(seq 100); do [ -S "$TMP/audit.sock" ] && break; sleep 0.1; done
  chmod 777 "$TMP/audit.sock"  # nginx's workers connect as their own user
  mkdir -p "$TMP/audit-nginx"
  cat >"$TMP/audit-nginx/nginx.conf" <<EOF
load_module $MODULE;
worker_processes $NGINX_WORKERS;
pid $TMP/audit-nginx/nginx.pid;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $TMP/audit-nginx/client_body;
  proxy_temp_path $TMP/audit-nginx/proxy;
  keepalive_requests 1000000;
  upstream model_api { server 127.0.0.1:$MOCK; keepalive 64; keepalive_requests 1000000; }
  tosgate_policies $MODULE_POLICIES;
  tosgate_accounts $TMP/accounts.jsonl;
  tosgate_audit_socket $TMP/audit.sock async;
  server {
    listen 127.0.0.1:$N_AUDIT;
    location / {
      tosgate on; tosgate_body on;
      proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://model_api;
    }
  }
}
EOF
  "$NGINX" -e "$TMP/audit-nginx/error.log" -p "$TMP/audit-nginx" -c "$TMP/audit-nginx/nginx.conf" -g 'daemon off;' &
  AUDIT_NGINX_PID=$!
  PIDS+=($AUDIT_NGINX_PID)
fi

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
  if [ "${MODULE_AUDIT:-0}" = 1 ]; then
    NAMES+=(nginx+module+audit)
    URLS+=("http://127.0.0.1:$N_AUDIT")
    for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$N_AUDIT/" && break; sleep 0.1; done
  fi
fi
if [ -n "${PEERS:-}" ]; then  # a subset, in the order given
  names=() urls=()
  for want in $PEERS; do
    for k in "${!NAMES[@]}"; do
      [ "${NAMES[$k]}" = "$want" ] && { names+=("$want"); urls+=("${URLS[$k]}"); }
    done
  done
  [ "${names[0]:-}" = nginx-proxy ] || { echo "PEERS must start with nginx-proxy (the base)" >&2; exit 2; }
  NAMES=("${names[@]}") URLS=("${urls[@]}")
fi
# The serving side's CPU (user + system, from /proc/PID/stat) per request:
# nginx's workers, plus tosgate serve for auth_request, the writer for the
# module's audit. wrk and the mock upstream are the same for every peer and
# not counted. Unlike req/s on a shared machine, this hardly moves with the
# load, and what a peer's CPU per request is against nginx-proxy's bounds
# its throughput where the serving side has cores of its own.
HZ=$(getconf CLK_TCK)
serving_pids() {  # NAME
  case $1 in
    nginx+module+audit) echo $(pgrep -P "$AUDIT_NGINX_PID") "$WRITER_PID" ;;
    tosgate-inline) echo "$INLINE_PID" ;;
    nginx+tosgate) echo $(pgrep -P "$NGINX_PID") "$FORWARD_PID" ;;
    *) echo $(pgrep -P "$NGINX_PID") ;;
  esac
}
cpu_us() {  # PID...: their user + system time so far, in microseconds
  local p total=0
  for p in "$@"; do
    total=$(awk -v t="$total" -v hz="$HZ" '{ sub(/^.*\) /, ""); print t + ($12 + $13) * 1000000 / hz }' "/proc/$p/stat")
  done
  echo "$total"
}
declare -A RESULTS CPU
echo "tosgate $TOSGATE (gateway threads $GATEWAY_THREADS, audit $AUDIT), nginx workers $NGINX_WORKERS,"
echo "mock upstream threads $MOCK_THREADS, $(nproc) cores; wrk -t $THREADS -c $CONNECTIONS -d $DURATION, $ROUNDS rounds"
echo "module policies $MODULE_POLICIES"
for r in $(seq "$ROUNDS"); do
  echo " round $r" >&2
  for k in "${!NAMES[@]}"; do
    pids=$(serving_pids "${NAMES[$k]}")
    before=$(cpu_us $pids)
    out=$(wrk -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" -s "$TMP/run.lua" "${URLS[$k]}")
    after=$(cpu_us $pids)
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $5 }' <<<"$out")
    per=$(awk -v a="$before" -v b="$after" -v n="$reqs" 'BEGIN { printf "%.1f", (b - a) / n }')
    printf '  %-18s %8.0f req/s, %s not 2xx, serving CPU %6s us/request\n' "${NAMES[$k]}" "$rps" \
      "${non2xx:-0}" "$per" >&2
    RESULTS[${NAMES[$k]}]+="$rps "
    CPU[${NAMES[$k]}]+="$per "
  done
done
base=$(printf '%s\n' ${RESULTS[nginx-proxy]} | median)
base_cpu=$(printf '%s\n' ${CPU[nginx-proxy]} | median)
for name in "${NAMES[@]}"; do
  m=$(printf '%s\n' ${RESULTS[$name]} | median)
  c=$(printf '%s\n' ${CPU[$name]} | median)
  printf ' %-18s %8.0f req/s (median of %s) ratio to nginx-proxy %.2f; serving CPU %s us/request, nginx-proxy/this %.2f\n' \
    "$name" "$m" "${RESULTS[$name]% }" "$(awk -v a="$m" -v b="$base" 'BEGIN { print a / b }')" \
    "$c" "$(awk -v a="$c" -v b="$base_cpu" 'BEGIN { print b / a }')"
done
