#!/usr/bin/env bash
# Starts a throwaway PostgreSQL (initdb in a temp dir, loopback, fsync on as
# in production) and runs build/bench/audit_pg_bench against it: the
# PostgreSQL audit sink (COPY and INSERT) and the SQLite sink, same run.
#   bench/audit_pg_bench.sh [audit_pg_bench options...]   e.g. --runs 3 --threads 8
# As root, PostgreSQL runs as the `postgres` user (it refuses root).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
source bench/lib.sh
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x "$PG_BIN/initdb" ]] || { echo "audit_pg_bench: PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 2; }
as_owner=()
if [[ $(id -u) == 0 ]]; then
  chown postgres: "$TMP"
  as_owner=(setpriv --reuid=postgres --regid=postgres --clear-groups --)
fi
"${as_owner[@]}" "$PG_BIN/initdb" -D "$TMP/pg" -U tosgate --auth=trust -E UTF8 --locale=C \
  --no-instructions >"$TMP/initdb.log" 2>&1 || { cat "$TMP/initdb.log" >&2; exit 1; }
free_port port
"${as_owner[@]}" "$PG_BIN/postgres" -D "$TMP/pg" -p "$port" -c listen_addresses=127.0.0.1 \
  -k "$TMP" >"$TMP/postgres.log" 2>&1 &
PIDS+=($!)
dsn="host=127.0.0.1 port=$port user=tosgate dbname=postgres"
for _ in $(seq 100); do "$PG_BIN/pg_isready" -q -d "$dsn" && break; sleep 0.05; done
"$PG_BIN/pg_isready" -q -d "$dsn" || { cat "$TMP/postgres.log" >&2; exit 1; }
# The SQLite file goes in the same temp directory: same disk for both.
"$BUILD_DIR/bench/audit_pg_bench" --dsn "$dsn" --dir "$TMP" "$@"
