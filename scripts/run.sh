#!/usr/bin/env bash
# The README's first command: installs the Debian packages lakehouse needs
# and DuckDB's libduckdb.so for SQL (scripts/install-deps.sh), builds it,
# puts `lakehouse` on the PATH (a symlink /usr/local/bin/lakehouse -> the
# built binary, so a rebuild is picked up), and runs the daemon on the
# embedded default — a local directory (./lakehouse-data, or
# $LAKEHOUSE_DATA). Extra arguments go to `lakehouse serve` (e.g.
# --listen 0.0.0.0:8080).
#
# Quiet: the install and the build write their output to log files under
# the build directory and print one line each; a failure prints the log's
# end and the log's path. The last lines on the screen are the daemon's
# address and how to use the CLI.
#
# Knobs (for scripts and the tests): LH_BUILD_DIR (default build),
# LH_INSTALL_DIR (default /usr/local/bin; "" = do not link), LH_SKIP_DEPS=1.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${LH_BUILD_DIR:-build}
bindir=${LH_INSTALL_DIR-/usr/local/bin}
mkdir -p "$build"

# step NAME LOG cmd...: runs cmd with its output in LOG; one line on success,
# the log's last 60 lines and its path on failure
step() {
  local name=$1 log=$2 t0=$SECONDS
  shift 2
  printf 'lakehouse: %s ... ' "$name"
  if "$@" >"$log" 2>&1; then
    echo "done ($((SECONDS - t0)) s; log: $log)"
  else
    local rc=$?
    echo "FAILED (exit $rc)"
    echo "---- the last lines of $log:" >&2
    tail -n 60 "$log" >&2
    echo "---- the whole log: $log" >&2
    exit "$rc"
  fi
}

if [ "${LH_SKIP_DEPS:-0}" != 1 ]; then
  step "installing packages (scripts/install-deps.sh)" "$build/install-deps.log" \
    bash scripts/install-deps.sh
fi
build_it() {
  # an existing build tree keeps its own configuration (e.g. a Debug build)
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo || return
  fi
  cmake --build "$build"
}
step "building $build/lakehouse" "$build/build.log" build_it
case $build in /*) lh=$build/lakehouse ;; *) lh=$PWD/$build/lakehouse ;; esac

# on the PATH: a symlink to the built binary (rebuilds are picked up)
if [ -n "$bindir" ]; then
  if mkdir -p "$bindir" 2>/dev/null && ln -sfn "$lh" "$bindir/lakehouse" 2>/dev/null; then
    echo "lakehouse: $bindir/lakehouse -> $lh (the CLI is on the PATH)"
  else
    echo "lakehouse: cannot write $bindir (not root?): use $lh, or add $(dirname "$lh") to PATH"
  fi
fi

export LAKEHOUSE_DATA=${LAKEHOUSE_DATA:-$PWD/lakehouse-data}
echo "lakehouse: data in $LAKEHOUSE_DATA; in another terminal: lakehouse schedule list, lakehouse runs, lakehouse --help"
echo "lakehouse: dashboard and API at the address below (Ctrl-C stops the daemon)"
exec "$lh" serve --data "$LAKEHOUSE_DATA" "$@"
