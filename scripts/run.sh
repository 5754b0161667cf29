#!/usr/bin/env bash
# The README's run command (after `make build`): lakehouse on the embedded
# default, a local directory (./lakehouse-data, or $LAKEHOUSE_DATA).
set -euo pipefail
cd "$(dirname "$0")/.."
export LAKEHOUSE_DATA=${LAKEHOUSE_DATA:-$PWD/lakehouse-data}
mkdir -p "$LAKEHOUSE_DATA"
bin=./build/lakehouse
if "$bin" serve --help >/dev/null 2>&1; then
  exec "$bin" serve --data "$LAKEHOUSE_DATA" "$@"
fi
# No daemon in this build yet (it lands with the HTTP API): show what the
# binary can do on the store instead.
"$bin" version
"$bin" --help
echo
echo "datasets in $LAKEHOUSE_DATA:"
"$bin" datasets --data "$LAKEHOUSE_DATA" || true
