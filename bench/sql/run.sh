#!/usr/bin/env bash
# SQL benchmark, side by side with DuckDB on its own (DESIGN.md §8; issue 16).
#   bench/sql/run.sh [--generated] [ROWS]     (ROWS default 10,000,000)
# Data: `bench`, ROWS rows in id order (id BIGINT 0..ROWS-1, status VARCHAR
# of 8 values, amount DECIMAL(12,2), price DOUBLE, dim_id BIGINT < 100,000;
# random values) and `dim`, 100,000 rows (id, region of 16 values, name).
# By default both are written the way users' tables are: filled with random
# values in a throwaway PostgreSQL (tests/servers/pg.sh) and copied by
# `lakehouse ingest` (so row groups, pages and encodings are ingest's: 1 Mi-
# row groups today); the server is stopped before the queries. --generated:
# the old, quicker data, written directly by bench/sql/bench.c with our
# Parquet writer in RG-row groups (default 131,072; no checksum in the
# catalog, so no CRC check per process either).
# First SELECT 1 (the per-statement overhead), then five queries — a point lookup, a 1 % id range, GROUP BY with sum, a
# ROWS x 100k join, a top-3-per-group window — each run through `lakehouse
# sql` (REPS copies in one `-f` file: best elapsed_ms of the engine, plus the
# process's wall time and peak RSS) and through DuckDB from the npm package
# (tests/node; the same libduckdb.so lakehouse loads) over the very same
# files with the same thread count and memory limit (best of REPS in one
# database; peak RSS of node).
# Mean CPU time per query is reported too (steadier than wall time on a
# shared machine): lakehouse's is the process's CPU time minus that of the
# same process running only "SELECT 1", divided by REPS; DuckDB's is the
# node process's CPU time over the REPS runs, divided by REPS.
# Then the daemon's RSS: idle, after one POST /api/sql (DuckDB loaded), and
# its peak while serving the five queries.
# Environment: BUILD (build dir, default build-bench, Release), OUT (scratch),
# REPS (default 3), ROUNDS (default 3), THREADS (default 2), MEM (memory limit, default 4GiB),
# RG (--generated: rows per row group), KEEP=1 keeps OUT (the data directory) for a second look.
# Needs GNU time (/usr/bin/time) for RSS and curl for the daemon part.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
mode=ingest
if [ "${1:-}" = --generated ]; then mode=generated; shift; fi
rows=${1:-10000000}
build=${BUILD:-$root/build-bench}
out=${OUT:-${TMPDIR:-/tmp}/lh-bench-sql}
reps=${REPS:-3}
rounds=${ROUNDS:-3}
threads=${THREADS:-2}
mem=${MEM:-4GiB}
rg=${RG:-131072}
rm -rf "$out" && mkdir -p "$out"
chmod 755 "$out"
cleanup() {
  bash "$root/tests/servers/pg.sh" stop "$out/pg" >/dev/null 2>&1 || true
  [ -n "${KEEP:-}" ] || rm -rf "$out"
}
trap cleanup EXIT
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
ninja -C "$build" sql_bench sql_probe lakehouse >/dev/null
lh=$build/lakehouse
data=$out/data
if [ $mode = generated ]; then
  /usr/bin/time -f "sql_bench (our writer, row groups of ${rg} rows): wall %e s, cpu %U+%S s, peak RSS %M KiB" \
    "$build/bench/sql_bench" "$data" "$rows" build "$rg"
else
  bash "$root/tests/servers/pg.sh" start "$out/pg" >/dev/null
  # shellcheck disable=SC1091
  . "$out/pg/env"
  t0=$(date +%s%N)
  psql -X -q -v ON_ERROR_STOP=1 "$PG_SUPER_DSN" <<SQL
CREATE TABLE bench AS SELECT g AS id,
  (ARRAY['new','paid','shipped','delivered','cancelled','refunded','returned','on_hold'])[floor(random() * 8)::int + 1] AS status,
  (random() * 1e7)::numeric(12,2) AS amount,
  round((random() * 10000)::numeric, 2)::float8 AS price,
  floor(random() * 100000)::bigint AS dim_id
FROM generate_series(0::bigint, $rows - 1) g;
CREATE TABLE dim AS SELECT g AS id, 'r' || lpad((floor(random() * 16))::int::text, 2, '0') AS region,
  'name-' || g AS name
FROM generate_series(0::bigint, 99999) g;
GRANT SELECT ON bench, dim TO lh_test;
VACUUM ANALYZE bench; VACUUM ANALYZE dim;
SQL
  echo "filled PostgreSQL in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
  for t in bench dim; do
    /usr/bin/time -f "ingest $t: wall %e s, cpu %U+%S s, peak RSS %M KiB" \
      "$lh" ingest postgres --dsn "$PG_USER_DSN" --table "$t" --data "$data" --codec zstd >/dev/null
  done
  bash "$root/tests/servers/pg.sh" stop "$out/pg" >/dev/null
fi
# The current version's parts, in catalog order (one fresh version each).
parts() { find "$data/primary/datasets/$1" -name '*.parquet' | sort | paste -sd, -; }
bench_files=$(parts bench)
dim_files=$(parts dim)
# The layout DuckDB and we read: parts, row groups, rows per group, bytes.
NODE_PATH="$root/tests/node/node_modules" node -e '
  const { DuckDBInstance } = require("@duckdb/node-api");
  (async () => {
    const c = await (await DuckDBInstance.create(":memory:")).connect();
    for (const [t, f] of [["bench", process.argv[1]], ["dim", process.argv[2]]]) {
      const l = JSON.stringify(f.split(","));
      const r = (await c.runAndReadAll(`SELECT count(DISTINCT file_name), count(*), min(num_rows),
        max(num_rows), sum(total_byte_size)
        FROM (SELECT DISTINCT file_name, row_group_id, row_group_num_rows AS num_rows,
              row_group_bytes AS total_byte_size FROM parquet_metadata(${l}))`)).getRows()[0];
      console.log(`${t}: ${r[0]} part(s), ${r[1]} row group(s) of ${r[2]}..${r[3]} rows, ` +
        `${(Number(r[4]) / 1048576).toFixed(1)} MiB uncompressed in row groups`);
    }
  })().catch((e) => { console.error(e); process.exit(1); });' "$bench_files" "$dim_files"
# DuckDB's own layout of the same rows (OWN=0 skips it): DuckDB rewrites
# both tables with its defaults (zstd, 122,880-row groups); the dd_own
# column runs each query on those files, to tell the cost of our file
# layout from the cost of our engine path.
own=${OWN:-1}
if [ "$own" = 1 ]; then
  mkdir -p "$out/own"
  NODE_PATH="$root/tests/node/node_modules" node -e '
    const { DuckDBInstance } = require("@duckdb/node-api");
    (async () => {
      const c = await (await DuckDBInstance.create(":memory:")).connect();
      const [b, d, dir] = process.argv.slice(1);
      for (const [t, f] of [["bench", b], ["dim", d]])
        await c.run(`COPY (SELECT * FROM read_parquet(${JSON.stringify(f.split(",")).replace(/"/g, "\x27")}))
          TO \x27${dir}/${t}.parquet\x27 (FORMAT parquet, COMPRESSION zstd)`);
    })().catch((e) => { console.error(e); process.exit(1); });' "$bench_files" "$dim_files" "$out/own"
  echo "DuckDB's own copy: bench $(du -b "$out/own/bench.parquet" | cut -f1) bytes," \
       "ours $(cat "${bench_files//,/ }" | wc -c) bytes"
fi
echo "mode=$mode rows=$rows threads=$threads memory_limit=$mem rounds=$rounds reps=$reps"

lo=$((rows / 3)); hi=$((lo + rows / 100 - 1))
names=(select1 point range1pct groupby join top3)
sqls=(
  "SELECT 1"
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

# The process's fixed cost (engine creation, the parts' checks: a CRC-32
# of every part once per process), from a process that runs only SELECT 1.
echo 'SELECT 1;' >"$out/base.sql"
t0=$(date +%s%N)
rss_of "$lh" sql --data "$data" --threads "$threads" --memory-limit "$mem" --format json \
  -f "$out/base.sql" >/dev/null
base_wall=$(( ($(date +%s%N) - t0) / 1000000 ))
base_cpu=$(cpu_of_last)
echo "lakehouse sql process running only SELECT 1: wall $base_wall ms, CPU $base_cpu ms"
med() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2); else print 0 }'; }
printf '%-10s %9s %9s %7s %9s %9s %7s %9s %9s %7s %9s %6s %6s %9s %7s\n' query lh_ms dd_ms ratio \
  lh_med dd_med m_rat lh_cpu dd_cpu cpu_rat lh_wall lh_RSS dd_RSS dd_own_ms own_rat
# Per query, ROUNDS rounds (default 3), each a lakehouse process then a node
# process of REPS runs: the other helpers' load on a shared machine comes and
# goes, and interleaving spreads it over both sides. ms: the best run; med:
# the median run; cpu: the median over rounds of the mean CPU per run.
for i in "${!names[@]}"; do
  q=${sqls[$i]}
  : >"$out/q.sql"
  for _ in $(seq "$reps"); do printf '%s;\n' "$q" >>"$out/q.sql"; done
  : >"$out/lms"; : >"$out/dms"; : >"$out/oms"; : >"$out/lcpu"; : >"$out/dcpu"; : >"$out/lwall"
  lrss=0; drss=0
  for _ in $(seq "$rounds"); do
    t0=$(date +%s%N)
    r=$(rss_of "$lh" sql --data "$data" --threads "$threads" --memory-limit "$mem" --timeout 600000 \
        --format json -f "$out/q.sql")
    echo $(( ($(date +%s%N) - t0) / 1000000 )) >>"$out/lwall"
    [ "$r" = n/a ] || [ "$r" -le "$lrss" ] || lrss=$r
    awk -v c="$(cpu_of_last)" -v b="$base_cpu" -v r="$reps" 'BEGIN { printf "%.1f\n", (c - b) / r }' >>"$out/lcpu"
    sed -n 's/.*"elapsed_ms":\([0-9.]*\)}.*/\1/p' "$out/cmd.out" >>"$out/lms"
    r=$(REPS=$reps NODE_PATH="$root/tests/node/node_modules" rss_of node "$root/bench/sql/duckdb.cjs" \
        "$bench_files" "$dim_files" "$threads" "$mem" "$q")
    [ "$r" = n/a ] || [ "$r" -le "$drss" ] || drss=$r
    sed -n 's/.*all=\([0-9.,]*\).*/\1/p' "$out/cmd.out" | tr , '\n' >>"$out/dms"
    sed -n 's/.*cpu_ms=\([0-9.]*\).*/\1/p' "$out/cmd.out" >>"$out/dcpu"
    if [ "$own" = 1 ]; then
      REPS=$reps NODE_PATH="$root/tests/node/node_modules" node "$root/bench/sql/duckdb.cjs" \
        "$out/own/bench.parquet" "$out/own/dim.parquet" "$threads" "$mem" "$q" |
        sed -n 's/.*all=\([0-9.,]*\).*/\1/p' | tr , '\n' >>"$out/oms"
    fi
  done
  awk -v n="${names[$i]}" -v l="$(sort -g "$out/lms" | head -1)" -v d="$(sort -g "$out/dms" | head -1)" \
    -v lm="$(med <"$out/lms")" -v dm="$(med <"$out/dms")" \
    -v lc="$(med <"$out/lcpu")" -v dc="$(med <"$out/dcpu")" -v w="$(med <"$out/lwall")" \
    -v lr="$lrss" -v dr="$drss" -v o="$(sort -g "$out/oms" | head -1)" 'BEGIN {
      printf "%-10s %9.1f %9.1f %6.2fx %9.1f %9.1f %6.2fx %9.1f %9.1f %6.2fx %6d ms %6s %6s",
        n, l, d, l / d, lm, dm, lm / dm, lc, dc, (dc > 0 ? lc / dc : 0), w, lr, dr
      if (o > 0) printf " %9.1f %6.2fx", o, l / o
      printf "\n" }'
done
echo "(ms: best of $((rounds * reps)) runs; med: their median; cpu: CPU ms per run; lh_wall: the" \
     "whole lakehouse sql process of $reps runs, median of $rounds; RSS: peak MiB;" \
     "dd_own: DuckDB on its own rewrite of the rows, best run; own_rat: lh_ms / dd_own_ms)"
# The probe (PROBE=0 skips it): the millisecond queries through DuckDB's C
# API driven as the node baseline does ("-": duckdb_query, materialized) and
# as lakehouse does ("stream,tx,sandbox": the engine's configuration, BEGIN,
# prepare, streaming execution, ROLLBACK), PROBE_REPS runs each, alternating
# PROBE_ROUNDS times. It tells DuckDB's own costs of lakehouse's statement
# path from lakehouse's code around it.
if [ "${PROBE:-1}" = 1 ]; then
  lib=${LAKEHOUSE_DUCKDB:-/usr/local/lib/lakehouse/libduckdb.so}
  echo "probe ($lib; best and median ms of ${PROBE_REPS:-20} runs, per round):"
  for i in 0 1 2; do
    for _ in $(seq "${PROBE_ROUNDS:-3}"); do
      for fl in - stream,tx,sandbox; do
        printf '  %-10s ' "${names[$i]}"
        "$build/bench/sql_probe" "$lib" "$bench_files" "$dim_files" "$threads" "$mem" \
          "${PROBE_REPS:-20}" "$fl" "${sqls[$i]}"
      done
    done
  done
fi
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
  for q in "${sqls[@]:1}"; do post "{\"sql\": \"$q\"}"; done
  after=$(kb VmRSS); peak=$(kb VmHWM)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "daemon RSS: idle ${idle} MiB, after one SQL request (DuckDB loaded) ${loaded} MiB," \
       "after the five queries ${after} MiB, peak ${peak} MiB (threads=$threads, memory_limit=$mem)"
fi
