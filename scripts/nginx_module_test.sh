#!/usr/bin/env bash
# The nginx dynamic module (plugins/nginx/) in the real Debian nginx: starts
# nginx on loopback with load_module, two workers, an upstream that echoes
# what it was sent (another server of the same nginx), and checks:
#   allow (and the X-Tos-* headers the upstream gets, a client's forged ones
#   dropped), deny on a body rule, throttle with Retry-After and RateLimit
#   fields, exact limits across 2 workers with 64 concurrent clients, limits
#   that survive `nginx -s reload`, and a reload under load without a
#   dropped request; the forward-auth path's attacks; audit to one writer,
#   sync (kill -9 loses no acknowledged record) and async.
#
#   scripts/nginx_module_test.sh [BUILD_DIR]     # default: build
#
# Needs: nginx (nginx-light), nginx-dev at build time, curl, python3.
# Exits 77 (skipped) when the module was not built.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)  # absolute: nginx resolves relative paths from its prefix
MODULE=$BUILD/plugins/nginx/ngx_http_tosgate_module.so
NGINX=${NGINX:-/usr/sbin/nginx}
[ -f "$MODULE" ] || { echo "skip: no $MODULE (build ngx_http_tosgate_module; needs nginx-dev)"; exit 77; }
for tool in "$NGINX" curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: run scripts/install-deps.sh" >&2; exit 2; }
done

TMP=$(mktemp -d /tmp/tosgate-ngxmod-XXXXXX)
chmod 755 "$TMP"  # nginx's workers run as an unprivileged user and read the policies
NGINX_PID=""
cleanup() {
  if [ -n "$NGINX_PID" ] && kill -0 "$NGINX_PID" 2>/dev/null; then
    kill -TERM "$NGINX_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$NGINX_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

FAILED=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1" >&2; FAILED=$((FAILED + 1)); }
check() {  # NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected [$2], got [$3]"; fi
}

next_port=$((20000 + RANDOM % 20000))
free_port() {
  while (exec 3<>"/dev/tcp/127.0.0.1/$next_port") 2>/dev/null; do next_port=$((next_port + 1)); done
  printf -v "$1" '%s' "$next_port"
  next_port=$((next_port + 1))
}

mkdir -p "$TMP/policies"
cat >"$TMP/policies/test.yaml" <<'EOF'
apiVersion: tosgate/v1
kind: Policy
metadata: {name: nginx-module-test}
identity:
  unknown_keys: {tier: free}
operations:
  chat: {methods: [POST], paths: [/v1/chat/completions]}
  completions: {methods: [POST], paths: [/v1/completions]}
  embeddings: {methods: [POST], paths: [/v1/embeddings]}
  responses: {methods: [POST], paths: [/v1/responses]}
  redirected: {methods: [POST], paths: [/t/chat]}
  budgeted: {methods: [POST], paths: [/u/chat, /u/stream]}
rules:
  - id: body.no-logprobs
    kind: attribute
    when: {field: body.logprobs, eq: true}
    action: deny
    reason: logprob-harvesting
  - id: rate.chat
    kind: rate_limit
    scope: [account]
    match: {operations: [chat]}
    limit: {requests: 100, per: 1h}
  - id: rate.ip
    kind: rate_limit
    scope: [ip]
    match: {operations: [embeddings]}
    limit: {requests: 3, per: 1h}
  - id: rate.one-at-a-time
    kind: rate_limit
    scope: [account]
    match: {operations: [responses]}
    limit: {concurrent: 1}
  - id: rate.redirected
    kind: rate_limit
    scope: [account]
    match: {operations: [redirected]}
    limit: {requests: 2, per: 1h}
  - id: budget.u
    kind: token_budget
    scope: [account]
    count: total
    match: {operations: [budgeted]}
    limit: {tokens: 100, per: 1h}
  - id: rate.small
    kind: rate_limit
    scope: [account]
    match: {operations: [completions]}
    limit: {requests: 3, per: 1h}
  - id: prohibited.sarin
    kind: content
    fields: [user]
    match: {operations: [chat]}
    patterns: [{id: sarin, word: sarin}]
EOF

write_config() {
  # deploy/nginx/tosgate-module-site.conf as shipped, with its addresses and
  # paths replaced, a smaller body limit (to test it below 1m), and the
  # deciding worker's pid on every answer.
  sed -e "s#/etc/tosgate/policies#$TMP/policies#" -e "s#127.0.0.1:8000#127.0.0.1:$UPSTREAM#" \
      -e "s#listen 80;#listen 127.0.0.1:$PORT;#" -e "s#tosgate_shared_state_size 16m;#tosgate_shared_state_size 4m;#" \
      -e "s#tosgate_body_max_size 1m;#tosgate_body_max_size 64k; add_header X-Worker \$pid always;#" \
      "$ROOT/deploy/nginx/tosgate-module-site.conf" >"$TMP/site.conf"
  grep -q "listen 127.0.0.1:$PORT;" "$TMP/site.conf" && grep -q 'X-Worker' "$TMP/site.conf" \
    || { echo "deploy/nginx/tosgate-module-site.conf changed: update the substitutions" >&2; exit 1; }

  cat >"$TMP/nginx.conf" <<EOF
load_module $MODULE;
worker_processes 2;
pid $TMP/nginx.pid;
error_log $TMP/error.log notice;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $TMP/client_body;
  proxy_temp_path $TMP/proxy;
  fastcgi_temp_path $TMP/fastcgi;
  uwsgi_temp_path $TMP/uwsgi;
  scgi_temp_path $TMP/scgi;
  include $TMP/site.conf;
  include $TMP/audit.conf;
  tosgate_policies_watch 200ms;
  # An internal redirect (try_files to a named location) after the check.
  server {
    listen 127.0.0.1:$REDIR;
    tosgate on;
    location / { try_files /nonexistent @named; }
    location @named { proxy_pass http://model_api; }
  }
  # The upstream: says which X-Tos-* headers reached it, and logs each
  # request it got (the adversarial cases count them).
  server {
    listen 127.0.0.1:$UPSTREAM;
    access_log $TMP/upstream.log;
    location /u/stream {
      default_type text/event-stream;
      return 200 'data: {"choices":[{"delta":{"content":"hi"}}]}\n\ndata: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":5,"total_tokens":12}}\n\ndata: [DONE]\n\n';
    }
    location /u/ {
      default_type application/json;
      return 200 '{"id":"r","usage":{"prompt_tokens":7,"completion_tokens":5,"total_tokens":12}}';
    }
    location / {
      return 200 "account=\$http_x_tos_account decision=\$http_x_tos_decision forged=\$http_x_tos_forged body=\$content_length\n";
    }
  }
}
EOF
}

# Free ports are picked, then bound by nginx a moment later: another program
# may take one in between. A start that fails is retried on new ports.
start_nginx() {
  free_port PORT
  free_port UPSTREAM
  free_port REDIR
  write_config
  : >"$TMP/audit.conf"  # no audit until the writer's test below
  "$NGINX" -t -e "$TMP/error.log" -p "$TMP" -c "$TMP/nginx.conf" 2>"$TMP/t.out" \
    || { cat "$TMP/t.out" "$TMP/error.log" >&2; exit 1; }
  : >"$TMP/error.log"  # the test made a table of its own: count only the server's
  "$NGINX" -e "$TMP/error.log" -p "$TMP" -c "$TMP/nginx.conf" -g 'daemon off;' &
  NGINX_PID=$!
  for _ in $(seq 100); do
    kill -0 "$NGINX_PID" 2>/dev/null || return 1
    # Both servers are bound once one answers (a failed bind stops nginx).
    curl -fs -o /dev/null "http://127.0.0.1:$UPSTREAM/" && return 0
    sleep 0.1
  done
  return 1
}
started=0
for attempt in 1 2 3; do
  if start_nginx; then started=1; break; fi
  kill -TERM "$NGINX_PID" 2>/dev/null || true
  wait "$NGINX_PID" 2>/dev/null || true
  echo "nginx did not start (attempt $attempt): $(tail -1 "$TMP/error.log")" >&2
done
[ "$started" = 1 ] || { cat "$TMP/error.log" >&2; exit 1; }

URL=http://127.0.0.1:$PORT
BODY='{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":10}'

# --- allow: the upstream sees tosgate's headers, not the client's forgeries
out=$(curl -s -D "$TMP/h1" "$URL/v1/chat/completions" -H 'Authorization: Bearer sk-allow' \
  -H 'X-Tos-Account: acct_admin' -H 'X-Tos-Forged: yes' -H 'Content-Type: application/json' -d "$BODY")
check "allow: 200" "200" "$(awk 'NR==1{print $2}' "$TMP/h1")"
case "$out" in
  "account=key:"*" decision=allow forged= body="*) pass "allow: upstream got tosgate's X-Tos-* and not the client's" ;;
  *) fail "allow: upstream saw [$out]" ;;
esac
grep -qi '^RateLimit-Policy: "rate.chat";q=100;w=3600' "$TMP/h1" && pass "allow: RateLimit-Policy to the client" \
  || fail "allow: no RateLimit-Policy in $(cat "$TMP/h1")"
grep -qi '^X-Tos-Decision-Id: [0-9a-f]\{36\}' "$TMP/h1" && pass "allow: X-Tos-Decision-Id" || fail "allow: no decision id"

# --- deny on a body rule (the body is read by the module, not by a subrequest)
code=$(curl -s -o "$TMP/b2" -D "$TMP/h2" -w '%{http_code}' "$URL/v1/chat/completions" \
  -H 'Authorization: Bearer sk-deny' -H 'Content-Type: application/json' \
  -d '{"model":"m","messages":[{"role":"user","content":"hi"}],"logprobs":true}')
check "deny: 403 on body.logprobs" "403" "$code"
grep -qi '^Content-Type: application/problem+json' "$TMP/h2" && pass "deny: problem+json" || fail "deny: content type"
grep -q '"rules":\["body.no-logprobs"\]' "$TMP/b2" && pass "deny: names the body rule" || fail "deny: body $(cat "$TMP/b2")"
# A body tosgate cannot read is refused, not passed unchecked.
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/chat/completions" -H 'Authorization: Bearer sk-deny' \
  -H 'Content-Type: application/json' -d '[not json')
check "deny: unreadable body is 400" "400" "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/chat/completions" -H 'Authorization: Bearer sk-deny' \
  -H 'Content-Type: application/json' --data-binary @<(head -c 70000 /dev/zero | tr '\0' 'a'))
check "deny: body over tosgate_body_max_size is 413" "413" "$code"

# --- throttle: the 4th request in the hour gets 429, Retry-After, RateLimit
for i in 1 2 3; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/completions" -H 'Authorization: Bearer sk-small' -d '{"prompt":"x"}')
  check "throttle: request $i admitted" "200" "$code"
done
code=$(curl -s -o "$TMP/b3" -D "$TMP/h3" -w '%{http_code}' "$URL/v1/completions" -H 'Authorization: Bearer sk-small' -d '{"prompt":"x"}')
check "throttle: 429" "429" "$code"
grep -qi '^Retry-After: [1-9][0-9]*' "$TMP/h3" && pass "throttle: Retry-After" || fail "throttle: no Retry-After in $(cat "$TMP/h3")"
grep -qi '^RateLimit: "rate.small";r=0;t=' "$TMP/h3" && pass "throttle: RateLimit r=0" || fail "throttle: RateLimit"
grep -q '"reason":"rate-limited"' "$TMP/b3" && pass "throttle: problem+json reason" || fail "throttle: body $(cat "$TMP/b3")"

# --- a concurrency cap of 1: each completed request gives its place back
codes=""
for i in 1 2 3; do
  codes+=$(curl -s -o /dev/null -w '%{http_code} ' "$URL/v1/responses" -H 'Authorization: Bearer sk-conc' -d '{"model":"m","input":"x"}')
done
check "concurrency: sequential requests under a cap of 1 all pass (leases released at the end)" "200 200 200 " "$codes"

# --- usage from the upstream's answer settles token reservations: each
# request reserves its estimate (~60 tokens of a budget of 100) and gives
# back all but the 12 the upstream reports, so three in a row fit
codes=""
for i in 1 2 3; do
  codes+=$(curl -s -o /dev/null -w '%{http_code} ' "$URL/u/chat" -H 'Authorization: Bearer sk-budget' \
    -H 'Content-Type: application/json' -d '{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":60}')
done
check "usage: reservations settled from the upstream's usage (3 x 60 reserved, 3 x 12 used, budget 100)" "200 200 200 " "$codes"
codes=""
for i in 1 2 3; do
  codes+=$(curl -s -o /dev/null -w '%{http_code} ' "$URL/u/stream" -H 'Authorization: Bearer sk-budget-sse' \
    -H 'Content-Type: application/json' -d '{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":60,"stream":true}')
done
check "usage: the same from a streamed (server-sent events) answer's final usage chunk" "200 200 200 " "$codes"

# --- an internal redirect does not decide (and count) a request twice
codes=""
for i in 1 2; do
  codes+=$(curl -s -o /dev/null -w '%{http_code} ' "http://127.0.0.1:$REDIR/t/chat" -H 'Authorization: Bearer sk-redir' -d '{}')
done
check "redirect: two requests under a limit of 2, each through try_files, both pass" "200 200 " "$codes"

# --- a client cannot escape an ip limit by naming another address
for i in 1 2 3 4; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/embeddings" -H "Authorization: Bearer sk-ip-$i" \
    -H "X-Forwarded-For: 198.51.100.$i" -H "X-Real-IP: 198.51.100.$i" -H "Forwarded: for=198.51.100.$i" \
    -d '{"model":"e","input":"x"}')
done
check "adversarial: forged X-Forwarded-For, X-Real-IP, Forwarded do not reset an ip limit" "429" "$code"

# --- the forward-auth path's body, path and credential attacks
# (tests/adversarial/), through the module: what is decided is what the
# upstream gets, or nothing reaches it
upstream_hits() { wc -l <"$TMP/upstream.log"; }
hits=$(upstream_hits)
SARIN='{"model":"m","messages":[{"role":"user","content":"how do I make sarin at home"}]}'
adv=0
for type in 'text/plain' 'application/x-www-form-urlencoded' 'application/octet-stream' ''; do
  adv=$((adv + 1))
  code=$(curl -s -o "$TMP/adv" -w '%{http_code}' "$URL/v1/chat/completions" \
    -H "Authorization: Bearer sk-adv-$adv" -H "Content-Type: $type" --data-binary "$SARIN")
  check "adversarial: a prohibited prompt as Content-Type [${type:-none}] is read and denied" \
    "403 1" "$code $(grep -c '"rules":\["prohibited.sarin"\]' "$TMP/adv")"
done
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/chat/completions" -H 'Authorization: Bearer sk-adv-c' \
  -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary "$SARIN")
check "adversarial: the same prompt in a chunked body is denied" "403" "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/chat/completions" -H 'Authorization: Bearer sk-adv-d' \
  -H 'Content-Type: application/json' \
  -d '{"model":"m","messages":[{"role":"user","content":"hi"}],"messages":[{"role":"user","content":"sarin"}]}')
check "adversarial: duplicate keys (which copy did the upstream read?) are 400" "400" "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/chat/completions" -H 'Authorization: Bearer sk-adv-t' \
  -H 'Content-Type: text/plain' --data-binary 'how do I make sarin at home')
check "adversarial: a prompt that is not JSON, as text/plain, is 400" "400" "$code"
code=$(curl -s --path-as-is -o /dev/null -w '%{http_code}' "$URL/v1/chat%2Fcompletions" \
  -H 'Authorization: Bearer sk-adv-p' -H 'Content-Type: application/json' --data-binary "$SARIN")
check "adversarial: an ambiguous path (an encoded /) is 400" "400" "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/chat/completions" -H 'Authorization: Bearer sk-adv-k1' \
  -H 'x-api-key: sk-adv-k2' -H 'Content-Type: application/json' -d "$BODY")
check "adversarial: two different keys in two carriers are 400" "400" "$code"
# A body cut short (the client announces 200 bytes, sends 40, and stops):
# never decided on a part, never relayed.
python3 - "$PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-adv-cut\r\n"
          b"Content-Type: application/json\r\nContent-Length: 200\r\n\r\n" + b'{"model":"m","messages":[{"role":"user",')
s.shutdown(socket.SHUT_WR)
try:
    s.recv(4096)
except OSError:
    pass
s.close()
PY
check "adversarial: none of these reached the upstream, nor a body cut short" "$hits" "$(upstream_hits)"

# --- exact limits across both workers: 64 clients, 300 requests, limit 100
cat >"$TMP/load.py" <<'EOF'
import http.client, sys, threading, collections
# PORT KEY TOTAL CLIENTS [close]: with "close", a new connection a request
# (no keep-alive race with a worker that is shutting down gracefully).
port, key, total, clients = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
# A KEY ending in "*" is a new key a request (every request its own limit).
# IDS_FILE (environment): where "status decision-id" lines go.
import os
fresh = len(sys.argv) > 5 and sys.argv[5] == "close"
ids_file = os.environ.get("IDS_FILE")
ids, seq = [], [0]
body = b'{"model":"m","messages":[{"role":"user","content":"hi"}]}'
counts, pids, lock, left = collections.Counter(), set(), threading.Lock(), [total]
def client():
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while True:
        with lock:
            if left[0] == 0: return
            left[0] -= 1
            seq[0] += 1
            k = key[:-1] + str(seq[0]) if key.endswith("*") else key
        if fresh: conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("POST", "/v1/chat/completions", body,
                         {"Authorization": "Bearer " + k, "Content-Type": "application/json"})
            r = conn.getresponse(); r.read(); status = r.status
        except Exception as e:
            status, r = "error:" + type(e).__name__, None
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        with lock:
            counts[status] += 1
            if r is not None and r.getheader("X-Worker"): pids.add(r.getheader("X-Worker"))
            if r is not None: ids.append(f"{status} {r.getheader('X-Tos-Decision-Id') or '-'}")
threads = [threading.Thread(target=client) for _ in range(clients)]
[t.start() for t in threads]; [t.join() for t in threads]
if ids_file: open(ids_file, "w").write("\n".join(ids) + "\n")
print(" ".join(f"{k}={v}" for k, v in sorted(counts.items(), key=str)), f"workers={len(pids)}")
EOF
result=$(python3 "$TMP/load.py" "$PORT" sk-exact 300 64)
check "exact: 64 clients, 300 requests, limit 100" "200=100 429=200" "${result% workers=*}"
# Both workers answered (X-Worker: the pid of the one that decided), and
# they counted in one table.
check "exact: both workers decided" "workers=2" "${result##* }"
tables=$(grep -c 'tosgate: shared limits table' "$TMP/error.log" || true)
check "exact: one shared table for the workers" "1" "$tables"

# --- reload: counters survive it, and no request is dropped during it
"$NGINX" -e "$TMP/error.log" -p "$TMP" -c "$TMP/nginx.conf" -s reload
for _ in $(seq 50); do grep -q 'signal process started\|reconfiguring' "$TMP/error.log" && break; sleep 0.1; done
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/completions" -H 'Authorization: Bearer sk-small' -d '{"prompt":"x"}')
check "reload: a throttled key stays throttled (the shared table survives)" "429" "$code"

python3 "$TMP/load.py" "$PORT" sk-reload 1000 16 close >"$TMP/reload.out" &
load=$!
for _ in 1 2 3; do
  sleep 0.3
  "$NGINX" -e "$TMP/error.log" -p "$TMP" -c "$TMP/nginx.conf" -s reload
done
wait $load
result=$(cat "$TMP/reload.out")
check "reload: 3 reloads under load, every request answered, limit exact" "200=100 429=900" "${result% workers=*}"

# --- tosgate_policies_watch: a changed policy file is picked up without a
# reload; a new limit for rate.small is a new counter, so sk-small passes again
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/completions" -H 'Authorization: Bearer sk-small' -d '{"prompt":"x"}')
check "watch: sk-small is still throttled before the change" "429" "$code"
# Written beside the directory and renamed into it: `sed -i`'s temporary file
# inside the watched directory would be a change of its own, and a worker
# could reload twice, the first time before the new text is in place.
sed 's/limit: {requests: 3, per: 1h}/limit: {requests: 5, per: 1h}/' "$TMP/policies/test.yaml" >"$TMP/test.yaml.new"
mv "$TMP/test.yaml.new" "$TMP/policies/test.yaml"
# Every worker the master has now (error-log lines carry "pid#tid: ").
workers_reloaded() {
  local pid n=0
  for pid in $(pgrep -P "$(cat "$TMP/nginx.pid")"); do
    grep -q "\] $pid#[0-9]*: .*policies reloaded" "$TMP/error.log" || { echo "not-$pid"; return; }
    n=$((n + 1))
  done
  echo "all-$n"
}
for _ in $(seq 100); do
  [ "$(workers_reloaded)" = all-2 ] && break
  sleep 0.1
done
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/completions" -H 'Authorization: Bearer sk-small' -d '{"prompt":"x"}')
check "watch: both workers reloaded the changed policy (sk-small passes under the new limit)" "200 all-2" \
  "$code $(workers_reloaded)"

# --- audit to one writer, sync: kill -9 of the writer loses no acknowledged record
WRITER=$BUILD/tools/audit_writer/tosgate-audit-writer
if [ -x "$WRITER" ]; then
  "$WRITER" --socket "$TMP/audit.sock" --audit "$TMP/audit.db" --durability "${WRITER_DURABILITY:-sync}" 2>"$TMP/writer.err" &
  WRITER_PID=$!
  for _ in $(seq 100); do [ -S "$TMP/audit.sock" ] && break; sleep 0.1; done
  chmod 777 "$TMP/audit.sock"  # nginx's workers connect as their own user
  echo "tosgate_audit_socket $TMP/audit.sock;" >"$TMP/audit.conf"
  "$NGINX" -e "$TMP/error.log" -p "$TMP" -c "$TMP/nginx.conf" -s reload
  # The new workers record; wait until one did.
  for _ in $(seq 100); do
    curl -s -o /dev/null "$URL/v1/chat/completions" -H 'Authorization: Bearer sk-probe' -d "$BODY"
    [ "$(sqlite3 "$TMP/audit.db" 'select count(*) from decisions' 2>/dev/null || echo 0)" -gt 0 ] && break
    sleep 0.1
  done
  IDS_FILE=$TMP/ids.txt python3 "$TMP/load.py" "$PORT" 'sk-audit-*' 3000 16 >"$TMP/audit.out" &
  load=$!
  for _ in $(seq 100); do [ "$(sqlite3 "$TMP/audit.db" 'select count(*) from decisions')" -gt 50 ] && break; sleep 0.05; done
  kill -9 "$WRITER_PID"
  wait "$WRITER_PID" 2>/dev/null || true
  wait $load
  admitted=$(awk '$1 == 200 { print $2 }' "$TMP/ids.txt" | sort -u)
  n_admitted=$(echo "$admitted" | grep -c . || true)
  n_refused=$(awk '$1 == 503' "$TMP/ids.txt" | wc -l)
  [ "$n_admitted" -gt 0 ] && [ "$n_refused" -gt 0 ] && pass "audit: $n_admitted admitted, then $n_refused refused (503) once the writer was killed" \
    || fail "audit: the kill did not fall within the load: $(cat "$TMP/audit.out")"
  sqlite3 "$TMP/audit.db" 'select id from decisions' | sort -u >"$TMP/stored.txt"
  missing=$(comm -23 <(echo "$admitted") "$TMP/stored.txt" | wc -l)
  check "audit: every admitted request's record survived kill -9 of the writer" "0" "$missing"
  grep -v 'audit' "$TMP/error.log" >"$TMP/error.rest" || true
  mv "$TMP/error.rest" "$TMP/error.log"  # the refusals after the kill are expected
  # --- audit, async: a request only queues its record; the worker's thread
  # sends the queue in batches, and every admitted request's record arrives
  "$WRITER" --socket "$TMP/audit2.sock" --audit "$TMP/audit2.db" --durability async 2>"$TMP/writer2.err" &
  WRITER2_PID=$!
  for _ in $(seq 100); do [ -S "$TMP/audit2.sock" ] && break; sleep 0.1; done
  chmod 777 "$TMP/audit2.sock"
  echo "tosgate_audit_socket $TMP/audit2.sock async;" >"$TMP/audit.conf"
  "$NGINX" -e "$TMP/error.log" -p "$TMP" -c "$TMP/nginx.conf" -s reload
  for _ in $(seq 100); do
    curl -s -o /dev/null "$URL/v1/chat/completions" -H 'Authorization: Bearer sk-probe2' -d "$BODY"
    [ "$(sqlite3 "$TMP/audit2.db" 'select count(*) from decisions' 2>/dev/null || echo 0)" -gt 0 ] && break
    sleep 0.1
  done
  IDS_FILE=$TMP/ids2.txt python3 "$TMP/load.py" "$PORT" 'sk-async-*' 500 16 >"$TMP/async.out"
  admitted=$(awk '$1 == 200 { print $2 }' "$TMP/ids2.txt" | sort -u)
  for _ in $(seq 100); do
    sqlite3 "$TMP/audit2.db" 'select id from decisions' | sort -u >"$TMP/stored2.txt"
    [ "$(comm -23 <(echo "$admitted") "$TMP/stored2.txt" | wc -l)" = 0 ] && break
    sleep 0.1
  done
  check "audit async: 500 admitted, every record reached the writer" \
    "500 0" "$(echo "$admitted" | grep -c .) $(comm -23 <(echo "$admitted") "$TMP/stored2.txt" | wc -l)"
  kill -TERM "$WRITER2_PID" 2>/dev/null || true

else
  echo "skip audit: no $WRITER"
fi

if grep -q '\[alert\]\|\[emerg\]\|\[crit\]' "$TMP/error.log"; then
  fail "error log has alerts:"; grep '\[alert\]\|\[emerg\]\|\[crit\]' "$TMP/error.log" >&2
else
  pass "no alert in nginx's error log"
fi

[ "$FAILED" -eq 0 ] && echo "nginx_module_test: all passed" || { echo "nginx_module_test: $FAILED failed" >&2; exit 1; }
