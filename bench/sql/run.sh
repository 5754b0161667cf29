#!/usr/bin/env bash
# SQL benchmark, side by side with DuckDB (DESIGN.md §8; issue 7): a dataset
# of ROWS rows sorted by id (our writer, row groups of 131,072 rows), then a
# point lookup, a 1 % id range and a GROUP BY status full scan, each best of
# 3 (REPS), lakehouse SQL vs DuckDB (threads=1) over the same file; wall and
# CPU time ratios (CPU time is steadier on a shared machine). groupby_dec is
# groupby with dec_sum(amount), the exact sum (DuckDB's sum is exact too).
#   bench/sql/run.sh [ROWS]     (default 10,000,000)
# Environment: BUILD (build directory, default build-bench), OUT (scratch dir),
# REPS (repetitions per query, default 3).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
rows=${1:-10000000}
build=${BUILD:-$root/build-bench}
out=${OUT:-${TMPDIR:-/tmp}/lh-bench-sql}
rm -rf "$out" && mkdir -p "$out"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
ninja -C "$build" sql_bench >/dev/null
"$build/bench/sql_bench" "$out" "$rows" build
ours=$("$build/bench/sql_bench" "$out" "$rows" run)
echo "$ours"
theirs=$(NODE_PATH="$root/tests/node/node_modules" node "$root/bench/sql/duckdb.cjs" \
         "$out/primary/datasets/bench/v1/part-00000.parquet" "$rows")
echo "$theirs"
for q in point range1pct groupby groupby_dec; do
  l=$(sed -n "s/^lakehouse $q ms=\([0-9.]*\).*/\1/p" <<<"$ours")
  d=$(sed -n "s/^duckdb $q ms=\([0-9.]*\).*/\1/p" <<<"$theirs")
  lc=$(sed -n "s/^lakehouse $q .*cpu_ms=\([0-9.]*\).*/\1/p" <<<"$ours")
  dc=$(sed -n "s/^duckdb $q .*cpu_ms=\([0-9.]*\).*/\1/p" <<<"$theirs")
  awk -v q="$q" -v l="$l" -v d="$d" -v lc="$lc" -v dc="$dc" \
    'BEGIN { printf "%-11s lakehouse/duckdb = %.2fx wall, %.2fx cpu\n", q, l / d, lc / dc }'
done
rm -rf "$out"
