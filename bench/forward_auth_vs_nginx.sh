#!/usr/bin/env bash
# Forward-auth throughput of tosgate next to nginx and its peers, measured
# side by side in one run.
#
#   bench/forward_auth_vs_nginx.sh [TOSGATE_BINARY]      # default: build/tosgate
#   BASELINE=/path/to/older/tosgate bench/forward_auth_vs_nginx.sh   # MODE=baseline
#
# direct mode (default): wrk with the same settings against an nginx
#   `return 200`, tosgate's /v1/check with audit `durability: sync`, the same
#   with `durability: async` (two servers), and Cerbos (PEERS=1) answering
#   the equivalent check, all interleaved in every round (nginx sync async
#   cerbos, nginx sync async cerbos, ...); then one connection each
#   (wrk -c 1 --latency), interleaved the same way, for the p50; then
#   @cedar-policy/cedar-wasm's in-process decision (PEERS=1).
# baseline mode (when BASELINE names a binary): wrk against this tosgate's
#   /v1/check and against BASELINE's, same policy, accounts and settings,
#   interleaved: how a change moved the figure, measured in one run.
# proxy mode: wrk against nginx + auth_request -> tosgate (deploy/nginx/
#   tosgate.conf, exactly as shipped) and against nginx proxying to the same
#   upstream alone; the upstream is an nginx `return 200`.
#
# Settings (environment):
#   MODE=direct|proxy|both|baseline   ROUNDS=3   DURATION=5s   THREADS=1
#   CONNECTIONS=32   LATENCY_DURATION=5s (the one-connection runs; 0: none)
#   GATEWAY_THREADS=2 (tosgate's)   NGINX_WORKERS=2
#   AUDIT=sync|async (proxy and baseline modes; direct runs both)
#   ACCOUNTS=10000: requests are spread over this many enterprise accounts
#   (6000 requests/min each in the default pack) so that nearly all are
#   allowed; the summary prints how many were not.
#   CPU_SETTLE=2: seconds after each throughput run before its CPU is read
#   PEERS=1: also Cerbos and cedar-wasm, installed from npm on first use into
#   PEERS_DIR (default bench/.peers, ignored by git); PEERS=0 skips them.
#
# Builds nothing; starts everything it needs in a temporary directory on
# loopback and stops it again on exit, Ctrl-C included.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOSGATE=${1:-$ROOT/build/tosgate}
BASELINE=${BASELINE:-}
MODE=${MODE:-$([ -n "$BASELINE" ] && echo baseline || echo direct)}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
LATENCY_DURATION=${LATENCY_DURATION:-5s}
THREADS=${THREADS:-1}
CONNECTIONS=${CONNECTIONS:-32}
GATEWAY_THREADS=${GATEWAY_THREADS:-2}
NGINX_WORKERS=${NGINX_WORKERS:-2}
AUDIT=${AUDIT:-sync}
ACCOUNTS=${ACCOUNTS:-10000}
NGINX=${NGINX:-/usr/sbin/nginx}
PEERS=${PEERS:-1}
PEERS_DIR=${PEERS_DIR:-$ROOT/bench/.peers}
CPU_SETTLE=${CPU_SETTLE:-2}
CERBOS_VERSION=0.51.0
CEDAR_VERSION=4.13.0

case $MODE in direct|proxy|both|baseline) ;; *) echo "MODE must be direct, proxy, both or baseline" >&2; exit 2 ;; esac
if [ "$MODE" = baseline ]; then
  [ -x "$BASELINE" ] || { echo "MODE=baseline needs BASELINE=/path/to/tosgate" >&2; exit 2; }
fi
[ -x "$TOSGATE" ] || { echo "no tosgate binary at $TOSGATE (build it, or pass its path)" >&2; exit 2; }
for tool in "$NGINX" wrk curl; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: run scripts/install-deps.sh" >&2; exit 2; }
done
[ "$MODE" = direct ] || [ "$MODE" = both ] || PEERS=0

source "$ROOT/bench/lib.sh"

free_port GW; free_port ADMIN; free_port UP; free_port FRONT_AUTH; free_port FRONT_PLAIN
free_port BASE_GW; free_port BASE_ADMIN; free_port ASYNC_GW; free_port ASYNC_ADMIN
free_port CERBOS_HTTP; free_port CERBOS_GRPC

# --- peers from npm, installed once into PEERS_DIR ---------------------------
CERBOS=""; CEDAR_OK=0
if [ "$PEERS" = 1 ]; then
  if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
    echo "peers skipped: npm and node are needed to install Cerbos and cedar-wasm" >&2
  else
    if [ ! -d "$PEERS_DIR/node_modules/@cedar-policy/cedar-wasm" ] ||
       [ ! -d "$PEERS_DIR/node_modules/@cerbos/cerbos-linux-x64" ]; then
      mkdir -p "$PEERS_DIR"
      echo '*' >"$PEERS_DIR/.gitignore"
      echo "installing cerbos@$CERBOS_VERSION and @cedar-policy/cedar-wasm@$CEDAR_VERSION into $PEERS_DIR" >&2
      npm install --no-audit --no-fund --silent --prefix "$PEERS_DIR" \
        "cerbos@$CERBOS_VERSION" "@cedar-policy/cedar-wasm@$CEDAR_VERSION" >&2 ||
        echo "npm install failed: the peers that are missing are skipped" >&2
    fi
    # The npm package `cerbos` is a launcher; the server itself comes in the
    # platform package it depends on.
    c="$PEERS_DIR/node_modules/@cerbos/cerbos-linux-x64/cerbos-linux-x64"
    if [ -x "$c" ]; then CERBOS=$c; else echo "Cerbos skipped: no $c (Linux x64 only)" >&2; fi
    [ -d "$PEERS_DIR/node_modules/@cedar-policy/cedar-wasm" ] && CEDAR_OK=1
  fi
fi

# --- tosgate: default pack, enterprise accounts sk-bench-1..N ---------------
write_bench_accounts "$ACCOUNTS" "$TMP/accounts.jsonl"
cat >"$TMP/tosgate.yaml" <<EOF
listen: {gateway: 127.0.0.1:$GW, admin: 127.0.0.1:$ADMIN}
audit: {path: $TMP/audit.db, durability: $AUDIT}
accounts: {file: $TMP/accounts.jsonl}
gateway: {threads: $GATEWAY_THREADS}
EOF
"$TOSGATE" serve --config "$TMP/tosgate.yaml" >"$TMP/tosgate.out" 2>"$TMP/tosgate.err" &
PIDS+=($!); SYNC_PID=$!
if [ "$MODE" = direct ] || [ "$MODE" = both ]; then
  # Direct mode puts both durabilities side by side: the first server is
  # sync, this one async.
  sed -i "s/durability: $AUDIT/durability: sync/" "$TMP/tosgate.yaml"
  sed -e "s/127.0.0.1:$GW,/127.0.0.1:$ASYNC_GW,/" -e "s/127.0.0.1:$ADMIN}/127.0.0.1:$ASYNC_ADMIN}/" \
      -e "s#$TMP/audit.db#$TMP/async-audit.db#" -e "s/durability: sync/durability: async/" \
      "$TMP/tosgate.yaml" >"$TMP/async.yaml"
  "$TOSGATE" serve --config "$TMP/async.yaml" >"$TMP/async.out" 2>"$TMP/async.err" &
  PIDS+=($!); ASYNC_PID=$!
fi
if [ -n "$CERBOS" ]; then
  # The same question as the default pack's allow: may this enterprise
  # account call chat? Cerbos keeps no counters, so without the rate limit.
  mkdir -p "$TMP/cerbos/policies"
  cat >"$TMP/cerbos/policies/api_request.yaml" <<EOF
apiVersion: api.cerbos.dev/v1
resourcePolicy:
  version: default
  resource: api_request
  rules:
    - actions: ["chat"]
      effect: EFFECT_ALLOW
      roles: ["enterprise", "pro", "free"]
      condition:
        match:
          expr: request.principal.attr.suspended == false
EOF
  cat >"$TMP/cerbos/conf.yaml" <<EOF
server: {httpListenAddr: "127.0.0.1:$CERBOS_HTTP", grpcListenAddr: "127.0.0.1:$CERBOS_GRPC"}
storage: {driver: disk, disk: {directory: $TMP/cerbos/policies, watchForChanges: false}}
audit: {enabled: false}
telemetry: {disabled: true}
EOF
  GOMAXPROCS=$GATEWAY_THREADS "$CERBOS" server --config="$TMP/cerbos/conf.yaml" --log-level=error \
    >"$TMP/cerbos.out" 2>"$TMP/cerbos.err" &
  PIDS+=($!); CERBOS_PID=$!
fi
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
PIDS+=($!); NGINX_PID=$!

wait_for "http://127.0.0.1:$ADMIN/readyz" || { cat "$TMP/tosgate.err" >&2; exit 1; }
if [ "$MODE" = direct ] || [ "$MODE" = both ]; then
  wait_for "http://127.0.0.1:$ASYNC_ADMIN/readyz" || { cat "$TMP/async.err" >&2; exit 1; }
fi
if [ -n "$CERBOS" ] && ! wait_for "http://127.0.0.1:$CERBOS_HTTP/_cerbos/health"; then
  echo "Cerbos did not start: skipped" >&2; cat "$TMP/cerbos.err" >&2; CERBOS=""
fi
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

# The Cerbos check for the same accounts: one request formatted per account.
cat >"$TMP/cerbos.lua" <<EOF
local accounts = $ACCOUNTS
local reqs = {}
local i = 0
function setup(thread) thread:set("offset", math.random(accounts)) end
function init(args)
  for k = 1, accounts do
    local body = '{"requestId":"b","principal":{"id":"acct_' .. k .. '","roles":["enterprise"],' ..
      '"attr":{"suspended":false}},"resources":[{"actions":["chat"],' ..
      '"resource":{"kind":"api_request","id":"/v1/chat/completions"}}]}'
    reqs[k] = wrk.format("POST", "/api/check/resources", {["Content-Type"] = "application/json"}, body)
  end
  i = offset
end
function request()
  i = i % accounts + 1
  return reqs[i]
end
EOF
printf 'wrk.method = "GET"\n' | cat - "$TMP/spread.lua" >"$TMP/check.lua"

# cpu_ticks PID: user + system clock ticks of PID and its child processes
# (nginx's workers), every thread included, the kernel's work for them too.
cpu_ticks() {
  local t=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
TCK=$(getconf CLK_TCK)

# measure NAME URL SCRIPT CONNECTIONS DURATION [PID]: one wrk run with
# --latency; prints "req/s p50-in-µs cpu-µs-per-request" to stdout (the CPU
# of PID from the start of the run until CPU_SETTLE s after it, so that an
# async audit writer's backlog is counted; - without PID) and a summary line
# to stderr.
measure() {
  local name=$1 url=$2 script=$3 conns=$4 dur=$5 pid=${6:-} out rps p50 total non2xx c0 cpu=-
  [ -n "$pid" ] && c0=$(cpu_ticks "$pid")
  out=$(wrk -t "$THREADS" -c "$conns" -d "$dur" --latency -s "$script" \
            -H "X-Original-Method: POST" -H "X-Original-URI: /v1/chat/completions" "$url")
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  p50=$(awk '$1 == "50%" { v = $2; m = 1
           if (v ~ /us$/) m = 1; else if (v ~ /ms$/) m = 1000; else if (v ~ /s$/) m = 1000000
           sub(/[a-z]+$/, "", v); printf "%.1f", v * m }' <<<"$out")
  total=$(awk '/requests in/ { print $1 }' <<<"$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $5 }' <<<"$out")
  if [ -n "$pid" ]; then
    sleep "$CPU_SETTLE"
    cpu=$(awk -v c=$(($(cpu_ticks "$pid") - c0)) -v t="$TCK" -v n="$total" \
              'BEGIN { printf "%.1f", c / t / n * 1e6 }')
  fi
  printf '  %-16s -c %-3s %8.0f req/s  p50 %7s µs  CPU %6s µs/req  %s requests, %s not 2xx  load %s\n' \
    "$name" "$conns" "$rps" "$p50" "$cpu" "$total" "${non2xx:-0}" "$(cut -d' ' -f1 /proc/loadavg)" >&2
  echo "$rps $p50 $cpu"
}

# The direct comparison: every side once per round, in the same order.
direct() {
  local names=(nginx-return-200 tosgate-sync tosgate-async) urls scripts pids
  urls=("http://127.0.0.1:$UP/v1/check" "http://127.0.0.1:$GW/v1/check" "http://127.0.0.1:$ASYNC_GW/v1/check")
  scripts=("$TMP/check.lua" "$TMP/check.lua" "$TMP/check.lua")
  pids=("$NGINX_PID" "$SYNC_PID" "$ASYNC_PID")
  if [ -n "$CERBOS" ]; then
    names+=(cerbos); urls+=("http://127.0.0.1:$CERBOS_HTTP/api/check/resources"); scripts+=("$TMP/cerbos.lua")
    pids+=("$CERBOS_PID")
  fi
  declare -A rps p50 cpu
  echo "throughput: wrk -t $THREADS -c $CONNECTIONS -d $DURATION, $ROUNDS rounds, interleaved" >&2
  for r in $(seq "$ROUNDS"); do
    echo " round $r" >&2
    for i in "${!names[@]}"; do
      read -r a _ c < <(measure "${names[$i]}" "${urls[$i]}" "${scripts[$i]}" "$CONNECTIONS" \
                                "$DURATION" "${pids[$i]}")
      rps[$i]+="$a "; cpu[$i]+="$c "
    done
  done
  if [ "$LATENCY_DURATION" != 0 ]; then
    echo "one connection: wrk -t 1 -c 1 -d $LATENCY_DURATION --latency, $ROUNDS rounds, interleaved" >&2
    for r in $(seq "$ROUNDS"); do
      echo " round $r" >&2
      for i in "${!names[@]}"; do
        read -r _ b _ < <(measure "${names[$i]}" "${urls[$i]}" "${scripts[$i]}" 1 "$LATENCY_DURATION")
        p50[$i]+="$b "
      done
    done
  fi
  local base_rps base_p50 base_cpu m l c
  base_rps=$(tr ' ' '\n' <<<"${rps[0]}" | grep . | median)
  base_cpu=$(tr ' ' '\n' <<<"${cpu[0]}" | grep . | median)
  [ "$LATENCY_DURATION" != 0 ] && base_p50=$(tr ' ' '\n' <<<"${p50[0]}" | grep . | median)
  # CPU per request (every thread and the kernel's work for the process,
  # wrk's excluded) is steadier than req/s on a loaded box; nginx's over a
  # side's is the ratio that side would reach where both are CPU-bound on
  # the same cores.
  printf '\n %-16s %10s %7s  %-28s %9s %7s %10s %9s\n' side "req/s" ratio "(runs)" "p50 1-conn" ratio \
    "CPU µs/req" "CPU ratio"
  for i in "${!names[@]}"; do
    m=$(tr ' ' '\n' <<<"${rps[$i]}" | grep . | median)
    printf ' %-16s %10.0f %7s  %-28s' "${names[$i]}" "$m" \
      "$(awk -v a="$m" -v b="$base_rps" 'BEGIN { printf "%.2fx", a / b }')" "($(printf '%.0f ' ${rps[$i]}))"
    if [ "$LATENCY_DURATION" != 0 ]; then
      l=$(tr ' ' '\n' <<<"${p50[$i]}" | grep . | median)
      printf ' %7.1f µs %6s' "$l" "$(awk -v a="$l" -v b="$base_p50" 'BEGIN { printf "%.2fx", a / b }')"
    fi
    c=$(tr ' ' '\n' <<<"${cpu[$i]}" | grep . | median)
    printf ' %10.1f %8s' "$c" "$(awk -v a="$c" -v b="$base_cpu" 'BEGIN { printf "%.2fx", b / a }')"
    echo
  done
  echo
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

echo "tosgate $TOSGATE (gateway threads $GATEWAY_THREADS), nginx workers $NGINX_WORKERS, $(nproc) cores"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"
if [ "$MODE" = direct ] || [ "$MODE" = both ]; then
  echo "== forward-auth: nginx return 200, tosgate /v1/check audit sync and async${CERBOS:+, Cerbos $CERBOS_VERSION}"
  direct
  if [ "$CEDAR_OK" = 1 ]; then
    echo "== in-process decision: @cedar-policy/cedar-wasm $CEDAR_VERSION (node $(node --version))"
    node "$ROOT/bench/peers/cedar_bench.mjs" "$PEERS_DIR/node_modules" 3 || echo " cedar-wasm failed" >&2
    echo
  fi
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
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"
stop_children
grep -h "decisions recorded" "$TMP/tosgate.err" "$TMP/async.err" >&2 2>/dev/null || true
