#!/usr/bin/env bash
# Installs everything lakehouse needs to build, run and test on Debian 12:
# the Debian packages (compiler, libraries, database servers for the
# integration tests) and the npm packages of tests/node (independent Parquet
# readers, S3 server). Idempotent and quick when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build and runtime libraries (DESIGN.md §7).
PKGS=(
  build-essential cmake ninja-build pkg-config git
  libzstd-dev libsnappy-dev libjansson-dev libcurl4-openssl-dev libsodium-dev
  libpq-dev libmariadb-dev libmicrohttpd-dev libsqlite3-dev libavro-dev tzdata
)
# Tests: unit test framework, sanitizer and fuzzer runtimes, servers, tools.
if [ "${1:-}" = "--test" ]; then
  PKGS+=(
    libcmocka-dev clang libclang-rt-14-dev
    postgresql-15 postgresql-client-15 mariadb-server mariadb-client
    curl nodejs npm chromium fonts-dejavu-core
  )
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# node may come from outside Debian (as on the build machines); accept it.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do
    case "$p" in nodejs|npm) ;; *) filtered+=("$p") ;; esac
  done
  missing=("${filtered[@]}")
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "${1:-}" = "--test" ]; then
  if [ ! -f tests/node/node_modules/.package-lock.json ] ||
     [ tests/node/package-lock.json -nt tests/node/node_modules/.package-lock.json ]; then
    echo "install-deps: npm ci in tests/node"
    (cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
