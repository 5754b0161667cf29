#!/usr/bin/env bash
# bench/ingest/shapes.sh [FAT_ROWS [WIDE_ROWS [NARROW_ROWS]]] — the table shapes beside the
# benchmark table (issue 18), on PostgreSQL:
#   fat    FAT_ROWS rows (default 20000): bigint id, a ~20 KB text of random
#          hex, a ~5 KB jsonb;
#   wide   WIDE_ROWS rows (default 100000) x 300 columns (bigint, text,
#          double, random values);
#   narrow NARROW_ROWS rows (default 1000000) of the benchmark table's 9
#          columns (ingest.sh's shape), random values.
# Per shape, three interleaved rounds of
#   floor   bench/ingest/floor.c: binary COPY drained, over TCP as lh_test
#           (the same path and user as lakehouse)
#   ours    lakehouse ingest --codec zstd
#   duckdb  psql \copy csv | DuckDB (types detected, zstd, one thread)
# and the medians: wall s, client CPU s per M rows, peak RSS MiB, Parquet
# MiB, ours/floor wall, ours/duckdb wall and size. Our binary: LH_BIN, else
# LH_BUILD (default build-bench, Release). Not a test: nothing is asserted.
set -euo pipefail
fat_rows=${1:-20000}
wide_rows=${2:-100000}
narrow_rows=${3:-1000000}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${LH_BUILD:-$root/build-bench}
tmp=$(mktemp -d /tmp/lh-bench-shapes.XXXXXX)
chmod 755 "$tmp"
cleanup() {
  bash "$root/tests/servers/pg.sh" stop "$tmp/pg" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
if [ -n "${LH_BIN:-}" ]; then
  lh=$LH_BIN
else
  [ -f "$build/build.ninja" ] || cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  ninja -C "$build" -j2 lakehouse >/dev/null || { echo "shapes.sh: build failed in $build" >&2; exit 1; }
  lh=$build/lakehouse
fi
cc -O2 -std=c17 -D_POSIX_C_SOURCE=200809L -I/usr/include/postgresql -I/usr/include/mariadb \
  "$here/floor.c" -lpq -lmariadb -o "$tmp/floor"
export LH_NODE_DIR=$root/tests/node

bash "$root/tests/servers/pg.sh" start "$tmp/pg" >/dev/null
# shellcheck disable=SC1091
. "$tmp/pg/env"
floor_dsn="host=$PG_HOST port=$PG_PORT user=lh_test password=$PG_PASSWORD dbname=$PG_DB"

echo "== filling: fat $fat_rows rows, wide $wide_rows rows x 300 columns, narrow $narrow_rows rows"
wide_cols=$(for i in $(seq 0 299); do
  case $((i % 3)) in
  0) printf ', (random() * 1e12)::bigint AS c%d' "$i" ;;
  1) printf ", md5(random()::text) AS c%d" "$i" ;;
  2) printf ', random() * 1000 AS c%d' "$i" ;;
  esac
done)
psql -X -q -v ON_ERROR_STOP=1 "$PG_SUPER_DSN" <<SQL
CREATE TABLE fat (id bigint, body text, doc jsonb);
INSERT INTO fat SELECT g,
  (SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 625 + 0 * g) k),
  (SELECT jsonb_object_agg('k' || k, md5(random()::text)) FROM generate_series(1, 120 + 0 * g) k)
FROM generate_series(1, $fat_rows) g;
CREATE TABLE wide AS SELECT g::bigint AS id $wide_cols FROM generate_series(1, $wide_rows) g;
CREATE TABLE narrow AS SELECT g::bigint AS id,
  CASE WHEN g % 20 = 1 THEN NULL ELSE (random() * 1000000)::int END AS qty,
  (CASE WHEN g % 20 = 2 THEN NULL ELSE (random() * 100000)::numeric(12,2) END) AS amount,
  CASE WHEN g % 20 = 3 THEN NULL ELSE random() * 1000 END::float8 AS score,
  CASE WHEN g % 20 = 4 THEN NULL ELSE (ARRAY['alpha','beta','gamma','delta','epsilon','zeta','eta','theta'])[(random() * 7)::int + 1] END AS category,
  CASE WHEN g % 20 = 5 THEN NULL ELSE 'customer' || (random() * 1e9)::bigint || '@example.com' END AS email,
  CASE WHEN g % 20 = 6 THEN NULL ELSE timestamptz '2024-01-01 00:00:00+00' + random() * interval '365 days' END AS created_at,
  CASE WHEN g % 20 = 7 THEN NULL ELSE random() < 0.5 END AS active,
  CASE WHEN g % 20 = 8 THEN NULL ELSE json_build_object('k', (random() * 10)::int, 'tag', 't' || (random() * 5)::int) END AS meta
FROM generate_series(1::bigint, $narrow_rows) g;
GRANT SELECT ON fat, wide, narrow TO lh_test;
VACUUM ANALYZE fat; VACUUM ANALYZE wide; VACUUM ANALYZE narrow;
SQL

# run LABEL OUTPATH CMD... : appends "LABEL wall cpu rss bytes" to figures
run() {
  local label=$1 out=$2; shift 2
  /usr/bin/time -f "%e %U %S %M" -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err" ||
    { echo "$label failed:"; cat "$tmp/err"; return 0; }
  read -r wall usr sys rss <"$tmp/time"
  local size=0
  [ -n "$out" ] && size=$(du -cb $out 2>/dev/null | tail -1 | cut -f1)
  echo "$label $wall $(awk -v u="$usr" -v s="$sys" 'BEGIN { print u + s }') $rss $size" >>"$tmp/figures"
}

: >"$tmp/figures"
for round in 1 2 3; do
  for t in fat wide narrow; do
    run "${t}_floor" "" "$tmp/floor" postgres "$floor_dsn" "$t"
    rm -rf "$tmp/d"
    run "${t}_ours" "$tmp/d/primary/datasets" "$lh" ingest postgres --dsn "$PG_USER_DSN" \
      --table "$t" --data "$tmp/d" --codec zstd
    run "${t}_duckdb" "$tmp/$t.parquet" bash -c \
      "psql -X -q '$PG_USER_DSN' -c '\\copy (SELECT * FROM $t) TO STDOUT (FORMAT csv, HEADER)' |
       node '$here/csv2parquet.mjs' '$tmp/$t.parquet' ',' '' auto"
  done
done

# medians of the three rounds, then the ratios
awk -v fat="$fat_rows" -v wide="$wide_rows" -v narrow="$narrow_rows" '
  function med(a, b, c) { return a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b)) }
  { n[$1]++; k = $1 SUBSEP n[$1]; W[k] = $2; C[k] = $3; R[k] = $4; Z[k] = $5 }
  END {
    rows["fat"] = fat; rows["wide"] = wide; rows["narrow"] = narrow
    split("fat wide narrow", shapes, " "); split("floor ours duckdb", who, " ")
    for (s = 1; s <= 3; s++) {
      sh = shapes[s]
      for (i = 1; i <= 3; i++) {
        l = sh "_" who[i]
        w[l] = med(W[l, 1], W[l, 2], W[l, 3]); c[l] = med(C[l, 1], C[l, 2], C[l, 3])
        r[l] = med(R[l, 1], R[l, 2], R[l, 3]); z[l] = med(Z[l, 1], Z[l, 2], Z[l, 3])
        printf "%-14s wall_s=%7.2f cpu_s_per_mrow=%7.3f peak_rss_mib=%7.1f parquet_mib=%8.2f\n",
          l, w[l], c[l] / (rows[sh] / 1e6), r[l] / 1024, z[l] / 1048576
      }
      printf "%s: ours/floor wall %.2f  ours/duckdb wall %.2f  ours/duckdb size %.3f  ours peak RSS %.0f MiB\n",
        sh, w[sh "_ours"] / w[sh "_floor"], w[sh "_ours"] / w[sh "_duckdb"],
        z[sh "_ours"] / z[sh "_duckdb"], r[sh "_ours"] / 1024
    }
  }' "$tmp/figures"
