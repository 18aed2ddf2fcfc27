#!/usr/bin/env bash
# Instructions per request, tosgate next to nginx, counted by callgrind
# (valgrind): a figure that the other processes loading the box do not
# disturb, unlike req/s. Each server runs under callgrind in turn; wrk warms
# it up, callgrind's counters are zeroed, wrk sends DURATION of requests,
# and after SETTLE seconds (an async audit writer's backlog is counted) the
# counters are dumped and divided by the requests wrk completed.
#
#   bench/instructions_per_request.sh [TOSGATE_BINARY]    # default: build/tosgate
#
# Sides: nginx `return 200` (one worker, master_process off), tosgate serve
# /v1/check with audit `durability: async` and `sync` (the built-in default
# pack, ACCOUNTS enterprise accounts, GATEWAY_THREADS gateway threads). For
# tosgate the count is split by thread: the gateway threads, the audit
# writer, everything else (the WAL checkpointer, the admin review observer,
# ...).
#
# Caveats: callgrind counts user-space instructions only (the kernel's
# read/write/epoll per request are not in it, for either side); valgrind
# does not run SHA-NI, so SHA-256 (key ids, the audit chain) is counted on
# OpenSSL's plain x86-64 path, more than the hardware path costs; the audit
# writer commits smaller groups at valgrind's low rate than at full speed,
# so its share is an upper bound.
#
# Settings: DURATION=5s CONNECTIONS=8 SETTLE=3 ACCOUNTS=10000
#   GATEWAY_THREADS=2 SIDES="nginx async sync"
# Public tools: valgrind (callgrind, callgrind_control), wrk, curl.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOSGATE=${1:-$ROOT/build/tosgate}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-8}
SETTLE=${SETTLE:-3}
ACCOUNTS=${ACCOUNTS:-10000}
GATEWAY_THREADS=${GATEWAY_THREADS:-2}
SIDES=${SIDES:-nginx async sync}
NGINX=${NGINX:-/usr/sbin/nginx}
NGINX_WORKERS=1
for tool in valgrind callgrind_control "$NGINX" wrk curl; do
  command -v "$tool" >/dev/null || { echo "$tool is missing" >&2; exit 2; }
done
[ -x "$TOSGATE" ] || { echo "no tosgate binary at $TOSGATE" >&2; exit 2; }
source "$ROOT/bench/lib.sh"

write_bench_accounts "$ACCOUNTS" "$TMP/accounts.jsonl"
write_keys_lua "$ACCOUNTS" "$TMP/check.lua"

ready() {  # URL: valgrind starts a server 20-50x slower than natively
  for _ in $(seq 600); do curl -fs -o /dev/null "$1" && return 0; sleep 0.5; done
  echo "not ready: $1" >&2; return 1
}
load() {  # URL DURATION: wrk's completed requests
  wrk -t1 -c"$CONNECTIONS" -d"$2" -s "$TMP/check.lua" -H "X-Original-Method: POST" \
      -H "X-Original-URI: /v1/chat/completions" "$1" | awk '/requests in/ { print $1 }'
}
# count NAME PID URL OUT: warm up, zero, measure, settle, dump (to OUT.1*);
# prints a row.
count() {
  local name=$1 pid=$2 url=$3 out=$4 n total gw writer other f ir
  load "$url" 2s >/dev/null
  sleep "$SETTLE"
  callgrind_control -z "$pid" >/dev/null 2>&1
  n=$(load "$url" "$DURATION")
  sleep "$SETTLE"
  callgrind_control -d "$pid" >/dev/null 2>&1
  sleep 1
  total=0; gw=0; writer=0; other=0
  for f in "$out".1*; do
    [ -e "$f" ] || continue
    ir=$(awk '/^summary:/ { print $2 }' "$f"); ir=${ir:-0}
    total=$((total + ir))
    if grep -q "GatewayServer::Impl::StartThreads" "$f"; then gw=$((gw + ir))
    elif grep -q "AuditBatchQueue::Run" "$f"; then writer=$((writer + ir))
    else other=$((other + ir)); fi
  done
  awk -v s="$name" -v n="$n" -v t="$total" -v g="$gw" -v w="$writer" -v o="$other" 'BEGIN {
    printf " %-16s %8d %12.0f %12.0f %12.0f %10.0f\n", s, n, t / n, g / n, w / n, o / n }'
  echo "$name $(awk -v n="$n" -v t="$total" 'BEGIN { printf "%.0f", t / n }')" >>"$TMP/totals"
}

echo "tosgate $TOSGATE, gateway threads $GATEWAY_THREADS; wrk -t1 -c$CONNECTIONS -d$DURATION under callgrind"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (does not change instruction counts)"
printf ' %-16s %8s %12s %12s %12s %10s\n' side requests "instr/req" "gateway thr" "audit writer" other
for side in $SIDES; do
  case $side in
    nginx)
      free_port PORT
      mkdir -p "$TMP/nginx"
      cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes 1; master_process off; daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off; keepalive_requests 1000000;
  client_body_temp_path $TMP/nginx/cb; proxy_temp_path $TMP/nginx/px;
  fastcgi_temp_path $TMP/nginx/fc; uwsgi_temp_path $TMP/nginx/uw; scgi_temp_path $TMP/nginx/sc;
  server { listen 127.0.0.1:$PORT; location / { return 200 "ok\n"; } }
}
EOF
      valgrind --tool=callgrind --callgrind-out-file="$TMP/nginx.cg" \
        "$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" >"$TMP/nginx.vg" 2>&1 &
      PIDS+=($!); pid=$!
      ready "http://127.0.0.1:$PORT/"
      count nginx-return-200 "$pid" "http://127.0.0.1:$PORT/v1/check" "$TMP/nginx.cg"
      ;;
    async|sync)
      free_port PORT; free_port ADMIN
      cat >"$TMP/$side.yaml" <<EOF
listen: {gateway: 127.0.0.1:$PORT, admin: 127.0.0.1:$ADMIN}
audit: {path: $TMP/$side-audit.db, durability: $side}
accounts: {file: $TMP/accounts.jsonl}
gateway: {threads: $GATEWAY_THREADS}
EOF
      valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$TMP/tosgate-$side.cg" \
        "$TOSGATE" serve --config "$TMP/$side.yaml" >"$TMP/$side.vg" 2>&1 &
      PIDS+=($!); pid=$!
      ready "http://127.0.0.1:$ADMIN/readyz"
      count "tosgate-$side" "$pid" "http://127.0.0.1:$PORT/v1/check" "$TMP/tosgate-$side.cg"
      ;;
    *) echo "unknown side $side" >&2; exit 2 ;;
  esac
  stop_children
done
base=$(awk '$1 == "nginx-return-200" { print $2 }' "$TMP/totals")
if [ -n "$base" ]; then
  echo
  awk -v b="$base" '{ printf " %-16s %8.1fx nginx'"'"'s instructions per request\n", $1, $2 / b }' "$TMP/totals"
fi
