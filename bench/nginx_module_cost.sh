#!/usr/bin/env bash
# Instructions per request of nginx proxying alone and of nginx with
# tosgate's module (plugins/nginx/), counted by valgrind's callgrind in one
# nginx process (master_process off), which the machine's load does not
# disturb: what bench/proxy_compare.sh's wall-clock ratio comes from.
#
#   bench/nginx_module_cost.sh [BUILD_DIR]        # default: build
#
# Each peer: nginx under callgrind, WARMUP requests, counters zeroed
# (callgrind_control -z), REQUESTS keep-alive chat completions with a body
# from one client (keys sk-bench-1..ACCOUNTS in turn), counters dumped
# (callgrind_control -d); the dump's instructions / REQUESTS. The upstream
# is a `return 200` server of the same nginx, so its work is counted in
# both peers alike. Peers: proxy (nginx alone), module (one rule: a rate
# limit per account; MODULE_POLICIES=DIR for another set), and, with
# AUDIT=1, module+audit (records to a tosgate-audit-writer; AUDIT_MODE=async
# or sync, the directive's; the writer --durability async, its instructions
# per record counted too).
#
# Settings (environment): REQUESTS=1000 WARMUP=200 ACCOUNTS=10000 KEEP=DIR
# (keep the callgrind files there, for callgrind_annotate).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
MODULE=$BUILD/plugins/nginx/ngx_http_tosgate_module.so
WRITER=$BUILD/tools/audit_writer/tosgate-audit-writer
NGINX=${NGINX:-/usr/sbin/nginx}
REQUESTS=${REQUESTS:-1000}
WARMUP=${WARMUP:-200}
ACCOUNTS=${ACCOUNTS:-10000}
NGINX_WORKERS=1
[ -f "$MODULE" ] || { echo "no $MODULE (ninja -C build ngx_http_tosgate_module)" >&2; exit 2; }
for tool in "$NGINX" valgrind callgrind_control python3 curl; do
  command -v "$tool" >/dev/null || { echo "$tool is missing" >&2; exit 2; }
done
source "$ROOT/bench/lib.sh"
chmod 755 "$TMP"

write_bench_accounts "$ACCOUNTS" "$TMP/accounts.jsonl"
POLICIES=${MODULE_POLICIES:-$TMP/one-rule}
if [ -z "${MODULE_POLICIES:-}" ]; then
  write_one_rule_policy "$POLICIES"
fi

# The client: one keep-alive connection, a request at a time (python's
# work is in another process, not counted).
cat >"$TMP/client.py" <<'EOF'
import http.client, sys
port, n, accounts, start = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
body = b'{"model":"m-large","messages":[{"role":"user","content":"hello"}],"max_tokens":16}'
c = http.client.HTTPConnection("127.0.0.1", port)
bad = 0
for i in range(n):
    c.request("POST", "/v1/chat/completions", body, {
        "Authorization": "Bearer sk-bench-%d" % ((start + i) % accounts + 1),
        "Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    bad += r.status != 200
sys.exit(1 if bad else 0)
EOF

# peer NAME LOCATION_DIRECTIVES [HTTP_DIRECTIVES]: instructions per request.
peer() {
  local name=$1 loc=$2 http=${3:-} port up pid dump
  free_port port; free_port up
  mkdir -p "$TMP/$name"
  cat >"$TMP/$name/nginx.conf" <<EOF
load_module $MODULE;
master_process off;
daemon off;
pid $TMP/$name/nginx.pid;
error_log $TMP/$name/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $TMP/$name/client_body;
  proxy_temp_path $TMP/$name/proxy;
  fastcgi_temp_path $TMP/$name/fastcgi;
  uwsgi_temp_path $TMP/$name/uwsgi;
  scgi_temp_path $TMP/$name/scgi;
  upstream model_api { server 127.0.0.1:$up; keepalive 8; }
  $http
  server {
    listen 127.0.0.1:$port;
    location / { $loc proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://model_api; }
  }
  server {
    listen 127.0.0.1:$up;
    location / { default_type application/json; return 200 '{"id":"r","usage":{"prompt_tokens":7,"completion_tokens":5,"total_tokens":12}}'; }
  }
}
EOF
  valgrind --tool=callgrind --callgrind-out-file="$TMP/$name/callgrind.out" \
    "$NGINX" -p "$TMP/$name" -c "$TMP/$name/nginx.conf" 2>"$TMP/$name/valgrind.log" &
  pid=$!
  PIDS+=("$pid")
  for _ in $(seq 600); do curl -s -o /dev/null "http://127.0.0.1:$up/" && break; sleep 0.1; done
  python3 "$TMP/client.py" "$port" "$WARMUP" "$ACCOUNTS" 0 \
    || { echo "$name: warm-up requests failed" >&2; cat "$TMP/$name/error.log" >&2; exit 1; }
  callgrind_control -z "$pid" >/dev/null
  [ -n "${WRITER_PID:-}" ] && callgrind_control -z "$WRITER_PID" >/dev/null
  python3 "$TMP/client.py" "$port" "$REQUESTS" "$ACCOUNTS" "$WARMUP" \
    || { echo "$name: requests failed" >&2; exit 1; }
  callgrind_control -d "$name" "$pid" >/dev/null
  dump=$(ls "$TMP/$name"/callgrind.out.* | head -1)
  awk -v n="$REQUESTS" -v name="$name" '/^summary:|^totals:/ { print name, int($2 / n); exit }' "$dump"
  [ -n "${KEEP:-}" ] && { mkdir -p "$KEEP"; cp "$dump" "$KEEP/$name.callgrind"; }
  if [ -n "${WRITER_PID:-}" ]; then
    # The writer's part: every record of these requests, once the async
    # sender delivered it (its acknowledgement is the writer's last step).
    sleep 1
    callgrind_control -d writer "$WRITER_PID" >/dev/null
    awk -v n="$REQUESTS" '/^summary:/ { t += $2 } END { print "writer (per record)", int(t / n) }' \
      "$TMP"/writer.callgrind.*
    [ -n "${KEEP:-}" ] && cat "$TMP"/writer.callgrind.* >"$KEEP/writer.callgrind"
  fi
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

echo "instructions per request (callgrind, $REQUESTS requests after $WARMUP, one nginx process):"
peer proxy ""
peer module "tosgate on; tosgate_body on;" \
  "tosgate_policies $POLICIES; tosgate_accounts $TMP/accounts.jsonl;"
if [ "${AUDIT:-0}" = 1 ]; then
  [ -x "$WRITER" ] || { echo "no $WRITER" >&2; exit 2; }
  # Under callgrind too (every thread, one file each), for its cost per record.
  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$TMP/writer.callgrind" \
    "$WRITER" --socket "$TMP/audit.sock" --audit "$TMP/audit.db" --durability async 2>"$TMP/writer.err" &
  WRITER_PID=$!
  PIDS+=($WRITER_PID)
  for _ in $(seq 600); do [ -S "$TMP/audit.sock" ] && break; sleep 0.1; done
  peer module+audit "tosgate on; tosgate_body on;" \
    "tosgate_policies $POLICIES; tosgate_accounts $TMP/accounts.jsonl; tosgate_audit_socket $TMP/audit.sock ${AUDIT_MODE:-};"
fi
