#!/usr/bin/env bash
# SQL benchmark, side by side with DuckDB on its own (DESIGN.md §8; issue 16).
# Data (bench/sql/bench.c, our Parquet writer): `bench`, ROWS rows sorted by
# id, and `dim`, 100,000 rows. Five queries — a point lookup, a 1 % id range,
# GROUP BY with sum, a ROWS x 100k join, a top-3-per-group window — each run
# through `lakehouse sql` (REPS copies in one `-f` file: best elapsed_ms of
# the engine, plus the process's wall time and peak RSS) and through DuckDB
# from the npm package (tests/node) over the same files with the same thread
# count and memory limit (best of REPS in one database; peak RSS of node).
# Mean CPU time per query is reported too (steadier than wall time on a
# shared machine): lakehouse's is the process's CPU time minus that of the
# same process running only "SELECT 1", divided by REPS.
# Then the daemon's RSS: idle, after one POST /api/sql (DuckDB loaded), and
# its peak while serving the five queries.
#   bench/sql/run.sh [ROWS]     (default 10,000,000)
# Environment: BUILD (build dir, default build-bench, Release), OUT (scratch),
# REPS (default 3), THREADS (default 2), MEM (memory limit, default 4GiB).
# Needs GNU time (/usr/bin/time) for RSS and curl for the daemon part.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
rows=${1:-10000000}
build=${BUILD:-$root/build-bench}
out=${OUT:-${TMPDIR:-/tmp}/lh-bench-sql}
reps=${REPS:-3}
threads=${THREADS:-2}
mem=${MEM:-4GiB}
rm -rf "$out" && mkdir -p "$out"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
ninja -C "$build" sql_bench lakehouse >/dev/null
lh=$build/lakehouse
data=$out/data
"$build/bench/sql_bench" "$data" "$rows" build
bench_file=$data/primary/datasets/bench/v1/part-00000.parquet
dim_file=$data/primary/datasets/dim/v1/part-00000.parquet

lo=$((rows / 3)); hi=$((lo + rows / 100 - 1))
names=(point range1pct groupby join top3)
sqls=(
  "SELECT * FROM bench WHERE id = $((rows / 2 + 7))"
  "SELECT count(*), sum(price), sum(amount) FROM bench WHERE id BETWEEN $lo AND $hi"
  "SELECT status, count(*), sum(amount) FROM bench GROUP BY status ORDER BY status"
  "SELECT d.region, count(*), sum(b.amount) FROM bench b JOIN dim d ON d.id = b.dim_id GROUP BY d.region ORDER BY d.region"
  "SELECT status, id, amount FROM bench QUALIFY row_number() OVER (PARTITION BY status ORDER BY amount DESC, id) <= 3 ORDER BY status, amount DESC, id"
)
have_time=0
[ -x /usr/bin/time ] && have_time=1
rss_of() { # command... ; prints peak RSS in MiB (or n/a), output to $out/cmd.out
  if [ $have_time = 1 ]; then
    /usr/bin/time -f '%M %U %S' -o "$out/rss" "$@" >"$out/cmd.out"
    awk '{ printf "%.0f", $1 / 1024 }' "$out/rss"
  else
    "$@" >"$out/cmd.out"; printf 'n/a'
  fi
}
cpu_of_last() { awk '{ printf "%.1f", ($2 + $3) * 1000 }' "$out/rss" 2>/dev/null || echo 0; }

echo 'SELECT 1;' >"$out/base.sql"
rss_of "$lh" sql --data "$data" --threads "$threads" --memory-limit "$mem" --format json \
  -f "$out/base.sql" >/dev/null
base_cpu=$(cpu_of_last)
printf '%-10s %10s %10s %7s %11s %11s %8s %12s %7s %7s\n' query lh_ms duckdb_ms ratio \
  lh_cpu_ms dd_cpu_ms cpu_rat lh_wall lh_RSS dd_RSS
for i in "${!names[@]}"; do
  q=${sqls[$i]}
  : >"$out/q.sql"
  for _ in $(seq "$reps"); do printf '%s;\n' "$q" >>"$out/q.sql"; done
  t0=$(date +%s%N)
  lrss=$(rss_of "$lh" sql --data "$data" --threads "$threads" --memory-limit "$mem" --timeout 600000 \
         --format json -f "$out/q.sql")
  wall=$(( ($(date +%s%N) - t0) / 1000000 ))
  lcpu=$(awk -v c="$(cpu_of_last)" -v b="$base_cpu" -v r="$reps" 'BEGIN { printf "%.1f", (c - b) / r }')
  lms=$(sed -n 's/.*"elapsed_ms":\([0-9.]*\)}.*/\1/p' "$out/cmd.out" | sort -g | head -1)
  drss=$(REPS=$reps NODE_PATH="$root/tests/node/node_modules" rss_of node "$root/bench/sql/duckdb.cjs" \
         "$bench_file" "$dim_file" "$threads" "$mem" "$q")
  dms=$(sed -n 's/^ms=\([0-9.]*\).*/\1/p' "$out/cmd.out")
  dcpu=$(sed -n 's/.*cpu_ms=\([0-9.]*\).*/\1/p' "$out/cmd.out")
  awk -v n="${names[$i]}" -v l="$lms" -v d="$dms" -v lc="$lcpu" -v dc="$dcpu" -v w="$wall" \
    -v lr="$lrss" -v dr="$drss" 'BEGIN { printf "%-10s %10.1f %10.1f %6.2fx %11.1f %11.1f %7.2fx %9d ms %7s %7s\n",
      n, l, d, l / d, lc, dc, (dc > 0 ? lc / dc : 0), w, lr, dr }'
done
node_idle=$(NODE_PATH="$root/tests/node/node_modules" rss_of node -e \
  "require('@duckdb/node-api').DuckDBInstance.create(':memory:').then(()=>0)")
echo "(dd_rss includes node itself: node + an empty DuckDB instance = $node_idle MiB)"

# The daemon: RSS idle, with DuckDB loaded, and its peak over the five queries.
if command -v curl >/dev/null; then
  printf '{"sql": {"threads": %d, "memory_limit": "%s", "timeout_ms": 600000}}\n' "$threads" "$mem" \
    >"$out/config.json"
  port=$((20000 + RANDOM % 10000))
  "$lh" serve --data "$data" --listen "127.0.0.1:$port" --config "$out/config.json" \
    >"$out/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/api/health" >/dev/null && break; sleep 0.1; done
  kb() { awk -v k="$1:" '$1 == k { print int($2 / 1024) }' "/proc/$pid/status"; }
  idle=$(kb VmRSS)
  post() { curl -sf -H 'content-type: application/json' -d "$1" "http://127.0.0.1:$port/api/sql" >/dev/null; }
  post '{"sql": "SELECT count(*) FROM bench"}'
  loaded=$(kb VmRSS)
  for q in "${sqls[@]}"; do post "{\"sql\": \"$q\"}"; done
  after=$(kb VmRSS); peak=$(kb VmHWM)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "daemon RSS: idle ${idle} MiB, after one SQL request (DuckDB loaded) ${loaded} MiB," \
       "after the five queries ${after} MiB, peak ${peak} MiB (threads=$threads, memory_limit=$mem)"
fi
rm -rf "$out"
