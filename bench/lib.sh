# Shared by the load scripts in bench/: child processes, free loopback ports,
# readiness waits and medians. Source it after `set -euo pipefail`.

TMP=$(mktemp -d /tmp/tosgate-bench-XXXXXX)
PIDS=()
stop_children() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}
cleanup() {
  trap - EXIT INT TERM
  stop_children
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

# free_port VAR: sets VAR to a loopback port nothing listens on, from a
# random start (no subshell, so successive calls give different ports).
next_port=$((20000 + RANDOM % 20000))
free_port() {
  while (exec 3<>"/dev/tcp/127.0.0.1/$next_port") 2>/dev/null; do next_port=$((next_port + 1)); done
  printf -v "$1" '%s' "$next_port"
  next_port=$((next_port + 1))
}

wait_for() {  # URL: bounded wait for a server that was just started
  for _ in $(seq 100); do
    curl -fs -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "not ready: $1" >&2
  return 1
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# nginx_conf TOSGATE_PORT MODEL_API_PORT SERVERS: writes $TMP/nginx.conf (and
# the shipped auth_request snippet to $TMP/snippets/tosgate.conf) with the
# settings every load script shares, upstreams `tosgate` and `model_api`,
# and the server blocks given in SERVERS.
nginx_conf() {
  mkdir -p "$TMP/snippets"
  cp "$ROOT/deploy/nginx/tosgate.conf" "$TMP/snippets/tosgate.conf"
  cat >"$TMP/nginx.conf" <<EOF
worker_processes $NGINX_WORKERS;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $TMP/client_body;
  proxy_temp_path $TMP/proxy;
  fastcgi_temp_path $TMP/fastcgi;
  uwsgi_temp_path $TMP/uwsgi;
  scgi_temp_path $TMP/scgi;
  keepalive_requests 1000000;
  upstream tosgate   { server 127.0.0.1:$1; keepalive 64; keepalive_requests 1000000; }
  upstream model_api { server 127.0.0.1:$2; keepalive 64; keepalive_requests 1000000; }
$3
}
EOF
}

# DIR/policy.yaml: one rate limit per account, high enough never to refuse:
# the cheapest policy that still decides and counts (the module's figures).
write_one_rule_policy() {
  mkdir -p "$1"
  cat >"$1/policy.yaml" <<'EOF'
apiVersion: tosgate/v1
kind: Policy
metadata: {name: one-rule}
operations:
  chat: {methods: [POST], paths: [/v1/chat/completions]}
rules:
  - id: rate.account
    kind: rate_limit
    scope: [account]
    match: {operations: [chat]}
    limit: {requests: 1000000, per: 1h}
EOF
}

# N accounts acct_1..N on the enterprise tier, key sk-bench-K each, as an
# accounts file (JSON lines) at FILE.
write_bench_accounts() {
  awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++)
    printf "{\"id\":\"acct_%d\",\"org\":\"org_%d\",\"tier\":\"enterprise\",\"flags\":[],\"keys\":[\"sk-bench-%d\"]}\n", i, i % 100, i }' >"$2"
}

# A wrk script at FILE: a GET per request, its key spread over
# sk-bench-1..N, every request formatted once per thread.
write_keys_lua() {
  local ACCOUNTS=$1
  cat >"$2" <<LUA
wrk.method = "GET"
local reqs, i = {}, 0
function setup(thread) thread:set("offset", math.random($ACCOUNTS)) end
function init(args)
  for k = 1, $ACCOUNTS do
    wrk.headers["Authorization"] = "Bearer sk-bench-" .. k
    reqs[k] = wrk.format()
  end
  i = offset
end
function request() i = i % $ACCOUNTS + 1; return reqs[i] end
LUA
}
