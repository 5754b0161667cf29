#!/usr/bin/env bash
# bench/ingest/ingest.sh [ROWS...] — `lakehouse ingest` against the floor and
# against "dump to CSV, convert with DuckDB", for PostgreSQL and MariaDB.
#
# For each ROWS (default 1000000): starts throwaway servers
# (tests/servers/*.sh), fills a table of the issue-4 benchmark shape (bigint
# id, int, numeric(12,2), double, 8-value text, ~24-char email, timestamptz,
# bool, small json; random values as real tables have, 5 % NULLs per
# column) and runs, per server (every client over the same TCP path and
# user as lakehouse):
#   floor   bench/ingest/floor.c (target ingest_floor): binary COPY drained /
#           MariaDB: mysql_use_result over the text protocol (my_floor) and
#           the prepared statement's binary protocol (my_floor_bin)
#   ours    lakehouse ingest ... --codec zstd into a fresh data directory
#   duckdb  psql \copy ... csv | DuckDB  /  mariadb --batch | DuckDB, writing
#           zstd Parquet (DuckDB through node, threads=1; csv2parquet.mjs
#           reads the columns as the types we write, so the files are like
#           for like), once with DuckDB's default row group size and once
#           (duckdb_rg) with ours (1 Mi rows)
# and prints wall time, rows/s, client CPU s per million rows, peak RSS,
# Parquet size, the ratios, and per column (compare.mjs) both files'
# Parquet types, compressed sizes and encodings. LH_KEEP=DIR keeps the
# Parquet files of the last ROWS there. Our binary comes from LH_BUILD (default
# build-bench, configured Release; LH_BIN=path uses a built binary as is);
# the floor is built there (ingest_floor).
# Not a test: nothing is asserted.
set -euo pipefail
[ $# -gt 0 ] || set -- 1000000
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${LH_BUILD:-$root/build-bench}
tmp=$(mktemp -d /tmp/lh-bench-ing.XXXXXX)
chmod 755 "$tmp"
cleanup() {
  bash "$root/tests/servers/pg.sh" stop "$tmp/pg" >/dev/null 2>&1 || true
  bash "$root/tests/servers/mariadb.sh" stop "$tmp/my" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

[ -f "$build/build.ninja" ] || cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
targets="ingest_floor"
[ -n "${LH_BIN:-}" ] || targets="$targets lakehouse" # LH_BIN: an already built binary
# shellcheck disable=SC2086
ninja -C "$build" -j2 $targets >/dev/null || { echo "ingest.sh: build failed in $build" >&2; exit 1; }
lh=${LH_BIN:-$build/lakehouse}
floor=$build/bench/ingest_floor
export LH_NODE_DIR=$root/tests/node

# measure LABEL ROWS OUTFILE CMD... : one line of figures (GNU time for the
# whole command: user+sys CPU of every process in it, max RSS of the largest)
measure() {
  local label=$1 rows=$2 out=$3; shift 3
  /usr/bin/time -f "%e %U %S %M" -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err" ||
    { echo "$label failed:"; cat "$tmp/err"; return 0; }
  read -r wall usr sys rss <"$tmp/time"
  local size=0
  [ -n "$out" ] && size=$(du -cb $out 2>/dev/null | tail -1 | cut -f1)
  awk -v l="$label" -v r="$rows" -v w="$wall" -v u="$usr" -v s="$sys" -v m="$rss" -v z="$size" \
    'BEGIN { printf "%-22s wall_s=%7.2f rows_per_s=%9.0f cpu_s_per_mrow=%6.3f peak_rss_mib=%7.1f parquet_mib=%7.2f\n",
             l, w, r / w, (u + s) / (r / 1e6), m / 1024, z / 1048576 }'
  echo "$label $wall $usr $sys $rss $size" >>"$tmp/figures"
}

# compare pg|my: per-column types and sizes, ours against both DuckDB files
compare() {
  local ours="$tmp/d/primary/datasets/**/*.parquet"
  echo "-- $1: ours vs DuckDB, default row groups"
  node "$here/compare.mjs" "$ours" "$tmp/$1.parquet" || true
  echo "-- $1: ours vs DuckDB, ROW_GROUP_SIZE 1048576"
  node "$here/compare.mjs" "$ours" "$tmp/${1}1048576.parquet" | tail -n +2 || true
  if [ -n "${LH_KEEP:-}" ]; then
    mkdir -p "$LH_KEEP/$1-ours"
    find "$tmp/d/primary/datasets" -name '*.parquet' -exec cp {} "$LH_KEEP/$1-ours/" \;
    cp "$tmp/$1.parquet" "$tmp/${1}1048576.parquet" "$LH_KEEP/"
  fi
}

for rows in "$@"; do
  bash "$root/tests/servers/pg.sh" start "$tmp/pg" >/dev/null
  bash "$root/tests/servers/mariadb.sh" start "$tmp/my" >/dev/null
  # shellcheck disable=SC1091
  . "$tmp/pg/env"
  # shellcheck disable=SC1091
  . "$tmp/my/env"
  : >"$tmp/figures"
  echo "== $rows rows: filling"
  psql -X -q -v ON_ERROR_STOP=1 "$PG_SUPER_DSN" <<SQL
-- casts go outside CASE: a NULL branch would drop the typmod (numeric(12,2) -> numeric)
CREATE TABLE bench AS SELECT g::bigint AS id,
  CASE WHEN g % 20 = 1 THEN NULL ELSE (random() * 1000000)::int END AS qty,
  (CASE WHEN g % 20 = 2 THEN NULL ELSE random() * 100000 END)::numeric(12,2) AS amount,
  CASE WHEN g % 20 = 3 THEN NULL ELSE random() * 1000 END::float8 AS score,
  CASE WHEN g % 20 = 4 THEN NULL ELSE (ARRAY['alpha','beta','gamma','delta','epsilon','zeta','eta','theta'])[(random() * 7)::int + 1] END AS category,
  CASE WHEN g % 20 = 5 THEN NULL ELSE 'customer' || (random() * 1e9)::bigint || '@example.com' END AS email,
  CASE WHEN g % 20 = 6 THEN NULL ELSE timestamptz '2024-01-01 00:00:00+00' + random() * interval '365 days' END AS created_at,
  CASE WHEN g % 20 = 7 THEN NULL ELSE random() < 0.5 END AS active,
  CASE WHEN g % 20 = 8 THEN NULL ELSE json_build_object('k', (random() * 10)::int, 'tag', 't' || (random() * 5)::int) END AS meta
FROM generate_series(1::bigint, $rows) g;
VACUUM ANALYZE bench;
SQL
  mariadb --no-defaults -uroot --socket="$MY_SOCKET" lhtest <<SQL
SET time_zone = '+00:00';
CREATE TABLE bench (id bigint PRIMARY KEY, qty int, amount decimal(12,2), score double,
  category varchar(16), email varchar(64), created_at timestamp(6) NULL DEFAULT NULL,
  active bool, meta json) ENGINE=InnoDB;
INSERT INTO bench SELECT seq, IF(seq%20=1,NULL,FLOOR(RAND()*1000000)), IF(seq%20=2,NULL,ROUND(RAND()*100000,2)),
  IF(seq%20=3,NULL,RAND()*1000),
  IF(seq%20=4,NULL,ELT(FLOOR(RAND()*8)+1,'alpha','beta','gamma','delta','epsilon','zeta','eta','theta')),
  IF(seq%20=5,NULL,CONCAT('customer',FLOOR(RAND()*1e9),'@example.com')),
  IF(seq%20=6,NULL,TIMESTAMP'2024-01-01 00:00:00' + INTERVAL FLOOR(RAND()*31536000) SECOND), IF(seq%20=7,NULL,RAND()<0.5),
  IF(seq%20=8,NULL,JSON_OBJECT('k',FLOOR(RAND()*10),'tag',CONCAT('t',FLOOR(RAND()*5)))) FROM seq_1_to_$rows;
SQL
  echo "== $rows rows: PostgreSQL"
  # the floor connects as lakehouse does: TCP to 127.0.0.1, the same user
  measure pg_floor "$rows" "" "$floor" postgres \
    "host=$PG_HOST port=$PG_PORT user=lh_test password=$PG_PASSWORD dbname=$PG_DB" bench
  rm -rf "$tmp/d"
  measure pg_ours "$rows" "$tmp/d/primary/datasets" "$lh" ingest postgres --dsn "$PG_USER_DSN" \
    --table bench --data "$tmp/d" --codec zstd
  for rg in "" 1048576; do
    measure "pg_csv_duckdb${rg:+_rg}" "$rows" "$tmp/pg$rg.parquet" bash -c \
      "psql -X -q '$PG_USER_DSN' -c '\\copy (SELECT * FROM bench) TO STDOUT (FORMAT csv, HEADER)' |
       node '$here/csv2parquet.mjs' '$tmp/pg$rg.parquet' ',' '' BOOLEAN $rg"
  done
  compare pg
  echo "== $rows rows: MariaDB"
  measure my_floor "$rows" "" "$floor" mysql-text 127.0.0.1 "$MY_PORT" lh_test "$MY_PASSWORD" lhtest bench
  measure my_floor_bin "$rows" "" "$floor" mysql 127.0.0.1 "$MY_PORT" lh_test "$MY_PASSWORD" lhtest bench
  rm -rf "$tmp/d"
  measure my_ours "$rows" "$tmp/d/primary/datasets" "$lh" ingest mysql --dsn "$MY_USER_DSN" \
    --table bench --data "$tmp/d" --codec zstd
  for rg in "" 1048576; do
    measure "my_csv_duckdb${rg:+_rg}" "$rows" "$tmp/my$rg.parquet" bash -c \
      "MYSQL_PWD='$MY_PASSWORD' mariadb --no-defaults -h127.0.0.1 -P'$MY_PORT' -ulh_test --batch --quick -e 'SELECT * FROM bench' lhtest |
       node '$here/csv2parquet.mjs' '$tmp/my$rg.parquet' '\\t' 'NULL' TINYINT $rg"
  done
  compare my
  echo "== $rows rows: ratios"
  awk '{ w[$1] = $2; c[$1] = $3 + $4; z[$1] = $6 }
       END {
         for (k = 0; k < 2; k++) { p = k ? "my" : "pg"; f = w[p "_floor"]  # the faster drain
           if ((p "_floor_bin") in w && w[p "_floor_bin"] < f) f = w[p "_floor_bin"]
           printf "%s: ours/floor wall %.2f  ours/csv+duckdb wall %.2f  ours/duckdb size %.3f (default row groups) %.3f (1 Mi-row groups)\n",
             p, w[p "_ours"] / f, w[p "_ours"] / w[p "_csv_duckdb"], z[p "_ours"] / z[p "_csv_duckdb"],
             z[p "_ours"] / z[p "_csv_duckdb_rg"] } }' \
    "$tmp/figures"
  bash "$root/tests/servers/pg.sh" stop "$tmp/pg" >/dev/null
  bash "$root/tests/servers/mariadb.sh" stop "$tmp/my" >/dev/null
done
