#!/usr/bin/env bash
# Installs everything lakehouse needs to build, run and test on Debian 12:
# the Debian packages (compiler, libraries, database servers for the
# integration tests), DuckDB's libduckdb.so for SQL (from the pinned npm
# package in scripts/duckdb, copied to $LH_DUCKDB_DIR, default
# /usr/local/lib/lakehouse) and the npm packages of tests/node (independent
# Parquet readers, S3 server). Idempotent and quick when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build and runtime libraries (DESIGN.md §7).
PKGS=(
  build-essential cmake ninja-build pkg-config git
  libzstd-dev libsnappy-dev libjansson-dev libcurl4-openssl-dev libsodium-dev
  libpq-dev libmariadb-dev libmicrohttpd-dev libedit-dev libavro-dev tzdata
  nodejs npm
)
# Tests: unit test framework, sanitizer and fuzzer runtimes, servers, tools.
if [ "${1:-}" = "--test" ]; then
  PKGS+=(
    libcmocka-dev clang libclang-rt-14-dev
    postgresql-15 postgresql-client-15 mariadb-server mariadb-client
    curl chromium fonts-dejavu-core
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

# DuckDB (the SQL engine, loaded at run time; docs/sql.md): not packaged in
# Debian 12, so the pinned @duckdb/node-bindings-linux-x64 (package-lock.json
# holds its sha512) is fetched with npm ci and its libduckdb.so installed.
duckdb_dir=${LH_DUCKDB_DIR:-/usr/local/lib/lakehouse}
duckdb_pkg=scripts/duckdb/node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so
if [ ! -f "$duckdb_pkg" ] || [ scripts/duckdb/package-lock.json -nt "$duckdb_pkg" ]; then
  echo "install-deps: npm ci in scripts/duckdb (libduckdb.so)"
  (cd scripts/duckdb && npm ci --no-audit --no-fund --loglevel=error)
fi
if ! cmp -s "$duckdb_pkg" "$duckdb_dir/libduckdb.so"; then
  echo "install-deps: installing $duckdb_dir/libduckdb.so"
  mkdir -p "$duckdb_dir"
  install -m 0644 "$duckdb_pkg" "$duckdb_dir/libduckdb.so.tmp"
  mv -f "$duckdb_dir/libduckdb.so.tmp" "$duckdb_dir/libduckdb.so"
fi

if [ "${1:-}" = "--test" ]; then
  if [ ! -f tests/node/node_modules/.package-lock.json ] ||
     [ tests/node/package-lock.json -nt tests/node/node_modules/.package-lock.json ]; then
    echo "install-deps: npm ci in tests/node"
    (cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
