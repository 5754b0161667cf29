#!/usr/bin/env bash
# The README's first command: installs the Debian packages lakehouse needs
# and DuckDB's libduckdb.so for SQL (scripts/install-deps.sh), builds it, and runs the daemon on the embedded default — a local
# directory (./lakehouse-data, or $LAKEHOUSE_DATA). Extra arguments go to
# `lakehouse serve` (e.g. --listen 0.0.0.0:8080).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build
export LAKEHOUSE_DATA=${LAKEHOUSE_DATA:-$PWD/lakehouse-data}
echo "lakehouse: data in $LAKEHOUSE_DATA; dashboard and API at the address printed below"
exec ./build/lakehouse serve --data "$LAKEHOUSE_DATA" "$@"
