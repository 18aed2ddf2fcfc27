#!/usr/bin/env bash
# Forward-auth throughput of tosgate next to nginx, measured side by side.
#
#   bench/forward_auth_vs_nginx.sh [TOSGATE_BINARY]      # default: build/tosgate
#   BASELINE=/path/to/older/tosgate bench/forward_auth_vs_nginx.sh   # MODE=baseline
#
# direct mode (default): wrk against tosgate's /v1/check and against an nginx
#   `return 200`, same wrk settings, interleaved A B A B for ROUNDS rounds.
# baseline mode (when BASELINE names a binary): wrk against this tosgate's
#   /v1/check and against BASELINE's, same policy, accounts and settings,
#   interleaved: how a change moved the figure, measured in one run.
# proxy mode: wrk against nginx + auth_request -> tosgate (deploy/nginx/
#   tosgate.conf, exactly as shipped) and against nginx proxying to the same
#   upstream alone; the upstream is an nginx `return 200`.
#
# Settings (environment):
#   MODE=direct|proxy|both   ROUNDS=3   DURATION=10s   THREADS=1   CONNECTIONS=64
#   GATEWAY_THREADS=2 (tosgate's)   NGINX_WORKERS=2   AUDIT=sync|async
#   ACCOUNTS=10000: requests are spread over this many enterprise accounts
#   (6000 requests/min each in the default pack) so that nearly all are
#   allowed; the summary prints how many were not.
#
# Builds nothing; starts everything it needs in a temporary directory on
# loopback and stops it again on exit, Ctrl-C included.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOSGATE=${1:-$ROOT/build/tosgate}
BASELINE=${BASELINE:-}
MODE=${MODE:-$([ -n "$BASELINE" ] && echo baseline || echo direct)}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
THREADS=${THREADS:-1}
CONNECTIONS=${CONNECTIONS:-64}
GATEWAY_THREADS=${GATEWAY_THREADS:-2}
NGINX_WORKERS=${NGINX_WORKERS:-2}
AUDIT=${AUDIT:-sync}
ACCOUNTS=${ACCOUNTS:-10000}
NGINX=${NGINX:-/usr/sbin/nginx}

case $MODE in direct|proxy|both|baseline) ;; *) echo "MODE must be direct, proxy, both or baseline" >&2; exit 2 ;; esac
if [ "$MODE" = baseline ]; then
  [ -x "$BASELINE" ] || { echo "MODE=baseline needs BASELINE=/path/to/tosgate" >&2; exit 2; }
fi
[ -x "$TOSGATE" ] || { echo "no tosgate binary at $TOSGATE (build it, or pass its path)" >&2; exit 2; }
for tool in "$NGINX" wrk curl; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: run scripts/install-deps.sh" >&2; exit 2; }
done

source "$ROOT/bench/lib.sh"

free_port GW; free_port ADMIN; free_port UP; free_port FRONT_AUTH; free_port FRONT_PLAIN
free_port BASE_GW; free_port BASE_ADMIN

# --- tosgate: default pack, enterprise accounts sk-bench-1..N ---------------
awk -v n="$ACCOUNTS" 'BEGIN { for (i = 1; i <= n; i++)
  printf "{\"id\":\"acct_%d\",\"org\":\"org_%d\",\"tier\":\"enterprise\",\"flags\":[],\"keys\":[\"sk-bench-%d\"]}\n", i, i % 100, i }' \
  >"$TMP/accounts.jsonl"
cat >"$TMP/tosgate.yaml" <<EOF
listen: {gateway: 127.0.0.1:$GW, admin: 127.0.0.1:$ADMIN}
audit: {path: $TMP/audit.db, durability: $AUDIT}
accounts: {file: $TMP/accounts.jsonl}
gateway: {threads: $GATEWAY_THREADS}
EOF
"$TOSGATE" serve --config "$TMP/tosgate.yaml" >"$TMP/tosgate.out" 2>"$TMP/tosgate.err" &
PIDS+=($!)
if [ "$MODE" = baseline ]; then
  sed -e "s/127.0.0.1:$GW,/127.0.0.1:$BASE_GW,/" -e "s/127.0.0.1:$ADMIN}/127.0.0.1:$BASE_ADMIN}/" \
      -e "s#$TMP/audit.db#$TMP/baseline-audit.db#" "$TMP/tosgate.yaml" >"$TMP/baseline.yaml"
  "$BASELINE" serve --config "$TMP/baseline.yaml" >"$TMP/baseline.out" 2>"$TMP/baseline.err" &
  PIDS+=($!)
fi

# --- nginx: the return-200 upstream, and both fronts for proxy mode ---------
nginx_conf "$GW" "$UP" "$(cat <<EOF
  # The stand-in model API, and the "nginx return 200" of direct mode.
  server { listen 127.0.0.1:$UP; location / { return 200 "ok\n"; } }
  # nginx + auth_request -> tosgate, with the shipped snippet.
  server { listen 127.0.0.1:$FRONT_AUTH; include $TMP/snippets/tosgate.conf; }
  # nginx proxying alone.
  server {
    listen 127.0.0.1:$FRONT_PLAIN;
    location / {
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass http://model_api;
    }
  }
EOF
)"
"$NGINX" -e "$TMP/nginx-error.log" -p "$TMP" -c "$TMP/nginx.conf" -g 'daemon off;' &
PIDS+=($!)

wait_for "http://127.0.0.1:$ADMIN/readyz" || { cat "$TMP/tosgate.err" >&2; exit 1; }
if [ "$MODE" = baseline ]; then
  wait_for "http://127.0.0.1:$BASE_ADMIN/readyz" || { cat "$TMP/baseline.err" >&2; exit 1; }
fi
wait_for "http://127.0.0.1:$UP/" || { cat "$TMP/nginx-error.log" >&2; exit 1; }

# --- wrk: every request names one of the accounts' keys ---------------------
cat >"$TMP/spread.lua" <<EOF
-- Spreads requests over sk-bench-1..$ACCOUNTS. The requests are formatted
-- once per thread, so that wrk's Lua costs the same little for both sides.
local accounts = $ACCOUNTS
local reqs = {}
local i = 0
function setup(thread) thread:set("offset", math.random(accounts)) end
function init(args)
  for k = 1, accounts do
    wrk.headers["Authorization"] = "Bearer sk-bench-" .. k
    reqs[k] = wrk.format()
  end
  i = offset
end
function request()
  i = i % accounts + 1
  return reqs[i]
end
EOF

# run NAME URL METHOD [BODY]: one wrk run; the summary line goes to stderr,
# the req/s to stdout.
run() {
  local name=$1 url=$2 method=$3 body=${4:-}
  {
    printf 'wrk.method = "%s"\n' "$method"
    if [ -n "$body" ]; then
      printf 'wrk.body = [[%s]]\nwrk.headers["Content-Type"] = "application/json"\n' "$body"
    fi
    cat "$TMP/spread.lua"
  } >"$TMP/run.lua"
  local out rps total non2xx
  out=$(wrk -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" -s "$TMP/run.lua" \
            -H "X-Original-Method: POST" -H "X-Original-URI: /v1/chat/completions" "$url")
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  total=$(awk '/requests in/ { print $1 }' <<<"$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $5 }' <<<"$out")
  printf '  %-18s %8.0f req/s   %s requests, %s not 2xx\n' "$name" "$rps" "$total" "${non2xx:-0}" >&2
  echo "$rps"
}

compare() {  # TITLE A_NAME A_URL B_NAME B_URL METHOD [BODY]
  local title=$1 a_name=$2 a_url=$3 b_name=$4 b_url=$5 method=$6 body=${7:-}
  local a=() b=()
  echo "$title: wrk -t $THREADS -c $CONNECTIONS -d $DURATION, $ROUNDS rounds, interleaved" >&2
  for r in $(seq "$ROUNDS"); do
    echo " round $r" >&2
    a+=("$(run "$a_name" "$a_url" "$method" "$body")")
    b+=("$(run "$b_name" "$b_url" "$method" "$body")")
  done
  local ma mb
  ma=$(printf '%s\n' "${a[@]}" | median)
  mb=$(printf '%s\n' "${b[@]}" | median)
  printf ' %s: %s req/s (median of %s)\n' "$a_name" "$(printf '%.0f' "$ma")" "$(printf '%.0f ' "${a[@]}")"
  printf ' %s: %s req/s (median of %s)\n' "$b_name" "$(printf '%.0f' "$mb")" "$(printf '%.0f ' "${b[@]}")"
  printf ' ratio %s / %s = %s\n\n' "$a_name" "$b_name" "$(awk -v a="$ma" -v b="$mb" 'BEGIN { printf "%.2f", a / b }')"
}

echo "tosgate $TOSGATE (gateway threads $GATEWAY_THREADS, audit $AUDIT), nginx workers $NGINX_WORKERS, $(nproc) cores"
if [ "$MODE" = direct ] || [ "$MODE" = both ]; then
  echo "== forward-auth: tosgate /v1/check vs nginx return 200"
  compare "direct" "tosgate" "http://127.0.0.1:$GW/v1/check" \
          "nginx-return-200" "http://127.0.0.1:$UP/v1/check" GET
fi
if [ "$MODE" = baseline ]; then
  echo "== forward-auth: tosgate /v1/check vs the baseline binary's ($BASELINE)"
  compare "baseline" "tosgate" "http://127.0.0.1:$GW/v1/check" \
          "baseline" "http://127.0.0.1:$BASE_GW/v1/check" GET
fi
if [ "$MODE" = proxy ] || [ "$MODE" = both ]; then
  echo "== nginx + auth_request -> tosgate vs nginx proxying alone"
  compare "proxy" "nginx+tosgate" "http://127.0.0.1:$FRONT_AUTH/v1/chat/completions" \
          "nginx-proxy" "http://127.0.0.1:$FRONT_PLAIN/v1/chat/completions" POST \
          '{"model":"m-large","messages":[{"role":"user","content":"hello"}],"max_tokens":64}'
fi
stop_children
grep -h "decisions recorded" "$TMP/tosgate.err" >&2 || true
