#!/usr/bin/env bash
# The README's test command: installs what the tests need, then builds and
# runs the whole suite twice: a normal build and an ASan+UBSan build.
# Set LH_TEST_FAST=1 to skip the sanitizer pass while iterating.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --test

jobs=$(nproc)
run_suite() {
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  (cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 600)
}

echo "== build and test (gcc, RelWithDebInfo) =="
run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [ "${LH_TEST_FAST:-0}" != 1 ]; then
  echo "== build and test (ASan + UBSan) =="
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DLH_SANITIZE=ON
fi
