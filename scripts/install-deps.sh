#!/usr/bin/env bash
# Installs everything tosgate needs to build, run and test on Debian 12.
# Idempotent: packages already present are skipped, so a second run is quick.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git curl ca-certificates
  libboost-dev libboost-system-dev
  libyaml-cpp-dev libsqlite3-dev sqlite3 libssl-dev
  libcpp-httplib-dev nlohmann-json3-dev
  libsimdjson-dev
  doctest-dev libbenchmark-dev
  nginx-light wrk caddy
  libhyperscan-dev libre2-dev
  libhiredis-dev redis-server
  postgresql libpq-dev
  nginx-dev  # the nginx module (plugins/nginx/): headers and configure of Debian's nginx
  libgrpc++-dev libprotobuf-dev protobuf-compiler-grpc  # Envoy gRPC ext_authz (api/extauthz/)
  tzdata  # IANA time zones of calendar limits and cost budgets (/usr/share/zoneinfo)
  clang libclang-rt-14-dev  # sanitizer passes (half GCC's compile time) and thread_safety_test
  python3-jsonschema  # STIX 2.1 bundles against the OASIS schemas (tests/stix, issue 27)
  libspdlog-dev  # structured logs (server/logging.*)
  lintian  # scripts/package_test.sh checks the .deb packages
  chromium nodejs fonts-dejavu-core  # the web console's browser test (tests/browser, docs/console.md)
)

# playwright-core for tests/browser (its package-lock.json); it drives
# Debian's chromium and downloads no browser of its own.
browser_test_deps() {
  local dir sudo=""
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/browser" && pwd)"
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  # Debian's nodejs comes without npm (a package of its own); some nodejs
  # builds bundle it, and then the npm package cannot be installed.
  if ! command -v npm >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends npm
  fi
  if command -v npm >/dev/null 2>&1 &&
     { [ ! -d "$dir/node_modules/playwright-core" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; }; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  browser_test_deps
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# nginx-light's package starts a system nginx on port 80; tosgate's tests run
# their own nginx on loopback and do not need it.
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true; fi
$SUDO service nginx stop >/dev/null 2>&1 || true
# Likewise caddy's package starts a system caddy (port 80, admin on 2019); the
# tests run their own on loopback ports with its admin API off.
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now caddy >/dev/null 2>&1 || true; fi
$SUDO service caddy stop >/dev/null 2>&1 || true
# And redis-server's starts a system Redis on 6379; the fleet tests start their own.
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true; fi
$SUDO service redis-server stop >/dev/null 2>&1 || true
# And postgresql's starts a cluster (15/main) on 5432; the fleet audit tests
# and bench/audit_pg_bench.sh initdb and run their own on loopback ports.
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now postgresql >/dev/null 2>&1 || true; fi
$SUDO service postgresql stop >/dev/null 2>&1 || true
browser_test_deps
