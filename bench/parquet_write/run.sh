#!/usr/bin/env bash
# Parquet writer benchmark, side by side with DuckDB (DESIGN.md §8).
# Both write the same ROWS rows (same formulas, see bench.c) as zstd Parquet
# from memory, single thread; prints both timings, file sizes and ratios.
#   bench/parquet_write/run.sh [ROWS]        (default 10,000,000)
# Environment: BUILD (build directory, default build-bench), OUT (scratch dir).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
rows=${1:-10000000}
build=${BUILD:-$root/build-bench}
out=${OUT:-${TMPDIR:-/tmp}/lh-bench-parquet-write}
mkdir -p "$out"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
ninja -C "$build" parquet_write_bench >/dev/null

ours=$("$build/bench/parquet_write_bench" "$out/lakehouse.parquet" "$rows")
echo "$ours"
theirs=$(NODE_PATH="$root/tests/node/node_modules" node "$root/bench/parquet_write/duckdb.cjs" \
         "$out/duckdb.parquet" "$rows")
echo "$theirs"

field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$2"; }
awk -v ls="$(field " seconds" "$ours")" -v ds="$(field " seconds" "$theirs")" \
    -v lc="$(field cpu_seconds "$ours")" -v dc="$(field cpu_seconds "$theirs")" \
    -v lb="$(field file_bytes "$ours")" -v db="$(field file_bytes "$theirs")" 'BEGIN {
  printf "throughput lakehouse/duckdb: %.2fx wall, %.2fx cpu   (goal >= 1.00)\n", ds / ls, dc / lc
  printf "file size  lakehouse/duckdb: %.3fx  (goal <= 1.05)\n", lb / db
}'
rm -f "$out/lakehouse.parquet" "$out/duckdb.parquet"
