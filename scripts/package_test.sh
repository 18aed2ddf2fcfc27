#!/usr/bin/env bash
# The Debian packages end to end, as an operator meets them (docs/install.md):
#   1. builds the .deb files with CPack from the build directory's targets
#      (and checks them with lintian, LINTIAN=0 skips it)
#   2. installs them on this machine (CI: root on Debian 12)
#   3. `tosgate doctor` and then `tosgate serve` with the installed
#      /etc/tosgate/config.yaml, as the packaged `tosgate` user (setpriv)
#   4. passes checks through it with curl (an allow, a denial) and finds them
#      in the audit store; builds a C program against tosgate-dev with
#      pkg-config and runs it
#   5. removes the packages (remove, not purge) and shows the audit store,
#      the configuration and the user are kept, and the store still verifies
# Idempotent: a second run reinstalls and finds the store grown. About a
# minute after the main build (lintian is most of it).
#
#   BUILD_DIR=build scripts/package_test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
LINTIAN=${LINTIAN:-1}
say() { printf '\n== package_test: %s\n' "$*"; }
fail() { printf 'package_test: FAIL: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root: it installs and removes packages with dpkg"

say "build the packages"
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then cmake -S . -B "$BUILD_DIR" -G Ninja >/dev/null; fi
cmake --build "$BUILD_DIR" --target tosgate tosgate_shared tosgate_package_files
rm -rf "$BUILD_DIR/packages"
(cd "$BUILD_DIR" && cpack -G DEB --config CPackConfig.cmake >/dev/null)
mapfile -t DEBS < <(ls "$BUILD_DIR"/packages/*.deb)
[ "${#DEBS[@]}" = 3 ] || fail "expected 3 packages, got: ${DEBS[*]}"
for d in "${DEBS[@]}"; do
  echo "$(basename "$d"): $(dpkg-deb -f "$d" Depends)"
done
if [ "$LINTIAN" = 1 ]; then
  say "lintian"
  # Errors and warnings fail; every override in packaging/debian says why.
  lintian --fail-on error,warning --suppress-tags-from-file packaging/debian/lintian-suppress "${DEBS[@]}"
fi

say "install"
# dpkg, not apt: the same version installed again is reinstalled. Missing
# dependencies (a bare machine) are then taken by apt-get -f.
dpkg -i "${DEBS[@]}" || apt-get install -y -f -qq -o DPkg::Lock::Timeout=300
for f in /usr/bin/tosgate /etc/tosgate/config.yaml /etc/tosgate/policies/policy.yaml \
         /lib/systemd/system/tosgate.service /usr/share/man/man1/tosgate.1.gz \
         /usr/include/tosgate/tosgate.h; do
  [ -e "$f" ] || fail "$f not installed"
done
getent passwd tosgate >/dev/null || fail "no tosgate user"
[ "$(stat -c %U /var/lib/tosgate)" = tosgate ] || fail "/var/lib/tosgate is not the tosgate user's"
dpkg-query -W -f='${Conffiles}\n' tosgate | grep -q /etc/tosgate/config.yaml || fail "config.yaml is not a conffile"

# Everything that opens the store runs as tosgate, as the service does: a
# root reader would leave root's -wal and -shm files the service cannot open.
as_tosgate() {
  (cd /var/lib/tosgate && exec env HOME=/var/lib/tosgate \
    setpriv --reuid=tosgate --regid=tosgate --init-groups --inh-caps=-all "$@")
}
records() {  # records in the store, 0 when there is none yet
  [ -f /var/lib/tosgate/audit.db ] || { echo 0; return; }
  local out
  out=$(as_tosgate "$1" audit verify --db /var/lib/tosgate/audit.db) || { echo "$out" >&2; fail "the audit store does not verify"; }
  echo "$out" | sed -n 's/^ok: \([0-9]*\) records.*/\1/p'
}
BEFORE=$(records /usr/bin/tosgate)

say "doctor, then serve as the tosgate user with /etc/tosgate/config.yaml"
as_tosgate /usr/bin/tosgate doctor --config /etc/tosgate/config.yaml
LOG=$(mktemp)
# exec all the way down: $! is the gateway itself.
(cd /var/lib/tosgate && exec env HOME=/var/lib/tosgate setpriv --reuid=tosgate --regid=tosgate --init-groups \
  --inh-caps=-all /usr/bin/tosgate serve --config /etc/tosgate/config.yaml) >"$LOG" 2>&1 &
SERVE=$!
trap 'kill "$SERVE" 2>/dev/null || true; rm -f "$LOG"' EXIT
for _ in $(seq 600); do
  curl -sf -o /dev/null http://127.0.0.1:9090/readyz && break
  kill -0 "$SERVE" 2>/dev/null || { cat "$LOG"; fail "serve exited"; }
  sleep 0.1
done
[ "$(ps -o user= -p "$SERVE" | tr -d ' ')" = tosgate ] || fail "serve does not run as tosgate"

say "checks through the installed gateway"
check() {
  curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/v1/check \
    -H 'X-Original-Method: POST' -H 'X-Original-URI: /v1/chat/completions' \
    -H 'Authorization: Bearer sk-package-test' "$@"
}
ALLOW=$(check)
DENY=$(check -H 'X-Usage-Purpose: model-training')
echo "allowed: $ALLOW, declared training purpose: $DENY"
[ "$ALLOW" = 200 ] || fail "an ordinary check was $ALLOW, not 200"
[ "$DENY" = 403 ] || fail "a declared training purpose was $DENY, not 403"
kill -TERM "$SERVE"
wait "$SERVE" || { cat "$LOG"; fail "serve did not stop cleanly"; }
trap 'rm -f "$LOG"' EXIT
grep -q '"component":"server"' "$LOG" || { cat "$LOG"; fail "the packaged config's log is not JSON"; }
as_tosgate /usr/bin/tosgate audit query --db /var/lib/tosgate/audit.db --reason competitor-training-declared --limit 1 |
  grep -q purpose.no-model-training || fail "the denial is not in the audit store"

say "tosgate-dev: a C program with pkg-config"
CDIR=$(mktemp -d)
cat >"$CDIR/v.c" <<'C'
#include <stdio.h>
#include <tosgate/tosgate.h>
int main(void) { printf("libtosgate %s\n", tosgate_version()); return 0; }
C
# shellcheck disable=SC2046  # the flags are words
cc "$CDIR/v.c" -o "$CDIR/v" $(pkg-config --cflags --libs tosgate)
"$CDIR/v"
rm -rf "$CDIR"

say "remove (not purge): the audit store, configuration and user stay"
dpkg -r tosgate-dev libtosgate0 tosgate >/dev/null
[ ! -e /usr/bin/tosgate ] || fail "/usr/bin/tosgate left behind"
[ -f /var/lib/tosgate/audit.db ] || fail "the audit store was removed"
[ -f /etc/tosgate/config.yaml ] || fail "the configuration was removed"
getent passwd tosgate >/dev/null || fail "the tosgate user was removed"
# The package's binary is gone: the build's verifies what it left.
BIN=$(mktemp -d)
install -m 0755 "$BUILD_DIR/tosgate" "$BIN/tosgate"
chmod 0755 "$BIN"
AFTER=$(records "$BIN/tosgate")
rm -rf "$BIN"
if [ -z "$AFTER" ] || [ "$AFTER" -lt $((BEFORE + 2)) ]; then
  fail "the kept store does not verify with this run's records"
fi
echo "audit store kept and verified: /var/lib/tosgate/audit.db, $BEFORE records before this run, $AFTER after"
say "ok"
