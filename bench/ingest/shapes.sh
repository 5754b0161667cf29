#!/usr/bin/env bash
# bench/ingest/shapes.sh [FAT_ROWS [WIDE_ROWS [NARROW_ROWS]]] — the table shapes beside the
# benchmark table (issue 18), on PostgreSQL and on MariaDB:
#   fat    FAT_ROWS rows (default 20000): bigint id, a 20,000-char text of
#          random hex, a ~5 KB json(b) object of 120 random md5 strings;
#   wide   WIDE_ROWS rows (default 100000) x 301 columns (id, then bigint,
#          text, double in turn, random values);
#   narrow NARROW_ROWS rows (default 1000000) of the benchmark table's 9
#          columns (ingest.sh's shape), random values, 5 % NULLs per column.
# The same shapes on both servers (each fills its own random values: the
# data are alike, not identical). Per round, per server, per shape:
#   floor     the drain floor (ingest_floor, bench/ingest/floor.c), over TCP
#             to 127.0.0.1 as lh_test — the same path and user as lakehouse:
#             PostgreSQL binary COPY drained; MariaDB a plain SELECT streamed
#             with mysql_use_result (text protocol), rows discarded
#   floorbin  MariaDB only: the prepared statement's binary protocol, rows
#             bound and discarded (the protocol lakehouse's source speaks)
#   ours      lakehouse ingest --codec zstd into a fresh data directory
#   ours_pN   with --parallel N, for each N in PARALLEL (default none;
#             skipped when the binary has no --parallel)
#   duckdb    psql \copy csv | DuckDB, or mariadb --batch --quick | DuckDB,
#             as lh_test over TCP (csv2parquet.mjs: types detected, zstd,
#             one thread)
# ROUNDS rounds (default 3), interleaved (every command once per round), and
# the medians per command: wall s, client CPU s per M rows, peak RSS MiB,
# Parquet MiB; then per server and shape ours/floor wall (floor = the
# faster drain), ours/duckdb wall and size, ours' peak RSS.
# Environment: SERVERS (default "pg my"), ROUNDS, PARALLEL, LH_BIN (our
# binary as built), else LH_BUILD (default build-bench, Release; the floor
# is built there too: target ingest_floor). Not a test: nothing is asserted.
set -euo pipefail
fat_rows=${1:-20000}
wide_rows=${2:-100000}
narrow_rows=${3:-1000000}
servers=${SERVERS:-pg my}
rounds=${ROUNDS:-3}
parallel=${PARALLEL:-}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${LH_BUILD:-$root/build-bench}
tmp=$(mktemp -d /tmp/lh-bench-shapes.XXXXXX)
chmod 755 "$tmp"
cleanup() {
  bash "$root/tests/servers/pg.sh" stop "$tmp/pg" >/dev/null 2>&1 || true
  bash "$root/tests/servers/mariadb.sh" stop "$tmp/my" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
[ -f "$build/build.ninja" ] || cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
targets="ingest_floor"
[ -n "${LH_BIN:-}" ] || targets="$targets lakehouse"
# shellcheck disable=SC2086
ninja -C "$build" -j2 $targets >/dev/null || { echo "shapes.sh: build failed in $build" >&2; exit 1; }
lh=${LH_BIN:-$build/lakehouse}
floor=$build/bench/ingest_floor
export LH_NODE_DIR=$root/tests/node
if [ -n "$parallel" ] && ! "$lh" ingest --help 2>&1 | grep -q -- --parallel; then
  echo "shapes.sh: $lh has no --parallel; PARALLEL=$parallel skipped"
  parallel=
fi

# 300 columns after id: bigint, text (md5), double in turn
wide_pg=$(for i in $(seq 0 299); do
  case $((i % 3)) in
  0) printf ', (random() * 1e12)::bigint AS c%d' "$i" ;;
  1) printf ", md5(random()::text) AS c%d" "$i" ;;
  2) printf ', random() * 1000 AS c%d' "$i" ;;
  esac
done)
wide_my_cols=$(for i in $(seq 0 299); do
  case $((i % 3)) in
  0) printf ', c%d bigint' "$i" ;;
  1) printf ', c%d varchar(32) CHARACTER SET ascii' "$i" ;; # 300 utf8mb4 varchars pass InnoDB's 8 KB row limit
  2) printf ', c%d double' "$i" ;;
  esac
done)
wide_my_vals=$(for i in $(seq 0 299); do
  case $((i % 3)) in
  0) printf ', FLOOR(RAND() * 1e12)' ;;
  1) printf ', MD5(RAND())' ;;
  2) printf ', RAND() * 1000' ;;
  esac
done)
# MariaDB's doc: 120 keys of random md5 strings, like PostgreSQL's jsonb
doc_my=$(for k in $(seq 1 120); do printf "%s'k%d', MD5(RAND())" "$([ "$k" = 1 ] || echo ', ')" "$k"; done)

fill_pg() {
  bash "$root/tests/servers/pg.sh" start "$tmp/pg" >/dev/null
  # shellcheck disable=SC1091
  . "$tmp/pg/env"
  psql -X -q -v ON_ERROR_STOP=1 "$PG_SUPER_DSN" <<SQL
CREATE TABLE fat (id bigint, body text, doc jsonb);
INSERT INTO fat SELECT g,
  (SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 625 + 0 * g) k),
  (SELECT jsonb_object_agg('k' || k, md5(random()::text)) FROM generate_series(1, 120 + 0 * g) k)
FROM generate_series(1, $fat_rows) g;
CREATE TABLE wide AS SELECT g::bigint AS id $wide_pg FROM generate_series(1, $wide_rows) g;
-- casts go outside CASE: a NULL branch would drop the typmod (numeric(12,2) -> numeric)
CREATE TABLE narrow AS SELECT g::bigint AS id,
  CASE WHEN g % 20 = 1 THEN NULL ELSE (random() * 1000000)::int END AS qty,
  (CASE WHEN g % 20 = 2 THEN NULL ELSE random() * 100000 END)::numeric(12,2) AS amount,
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
}

fill_my() {
  bash "$root/tests/servers/mariadb.sh" start "$tmp/my" >/dev/null
  # shellcheck disable=SC1091
  . "$tmp/my/env"
  # RANDOM_BYTES (MariaDB >= 10.10) gives 20,000 random hex chars per row
  mariadb --no-defaults -uroot --socket="$MY_SOCKET" lhtest <<SQL
SET time_zone = '+00:00';
CREATE TABLE fat (id bigint PRIMARY KEY, body longtext, doc json) ENGINE=InnoDB;
INSERT INTO fat SELECT seq,
  CONCAT(HEX(RANDOM_BYTES(1000)), HEX(RANDOM_BYTES(1000)), HEX(RANDOM_BYTES(1000)),
         HEX(RANDOM_BYTES(1000)), HEX(RANDOM_BYTES(1000)), HEX(RANDOM_BYTES(1000)),
         HEX(RANDOM_BYTES(1000)), HEX(RANDOM_BYTES(1000)), HEX(RANDOM_BYTES(1000)),
         HEX(RANDOM_BYTES(1000))),
  JSON_OBJECT($doc_my)
FROM seq_1_to_$fat_rows;
CREATE TABLE wide (id bigint PRIMARY KEY $wide_my_cols) ENGINE=InnoDB;
INSERT INTO wide SELECT seq $wide_my_vals FROM seq_1_to_$wide_rows;
CREATE TABLE narrow (id bigint PRIMARY KEY, qty int, amount decimal(12,2), score double,
  category varchar(16), email varchar(64), created_at timestamp(6) NULL DEFAULT NULL,
  active bool, meta json) ENGINE=InnoDB;
INSERT INTO narrow SELECT seq, IF(seq%20=1,NULL,FLOOR(RAND()*1000000)), IF(seq%20=2,NULL,ROUND(RAND()*100000,2)),
  IF(seq%20=3,NULL,RAND()*1000),
  IF(seq%20=4,NULL,ELT(FLOOR(RAND()*8)+1,'alpha','beta','gamma','delta','epsilon','zeta','eta','theta')),
  IF(seq%20=5,NULL,CONCAT('customer',FLOOR(RAND()*1e9),'@example.com')),
  IF(seq%20=6,NULL,TIMESTAMP'2024-01-01 00:00:00' + INTERVAL FLOOR(RAND()*31536000) SECOND), IF(seq%20=7,NULL,RAND()<0.5),
  IF(seq%20=8,NULL,JSON_OBJECT('k',FLOOR(RAND()*10),'tag',CONCAT('t',FLOOR(RAND()*5)))) FROM seq_1_to_$narrow_rows;
ANALYZE TABLE fat, wide, narrow;
SQL
}

echo "== filling ($servers): fat $fat_rows rows, wide $wide_rows rows x 301 columns, narrow $narrow_rows rows"
for srv in $servers; do
  case $srv in
  pg) fill_pg ;;
  my) fill_my ;;
  *) echo "shapes.sh: SERVERS takes pg and my, not $srv" >&2; exit 2 ;;
  esac
done

# run LABEL OUTPATH CMD... : appends "LABEL wall cpu rss bytes" to figures
# (GNU time over the whole command: user+sys CPU of every process in it,
# max RSS of the largest one)
run() {
  local label=$1 out=$2; shift 2
  /usr/bin/time -f "%e %U %S %M" -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err" ||
    { echo "$label failed:"; cat "$tmp/err"; return 0; }
  read -r wall usr sys rss <"$tmp/time"
  local size=0
  # shellcheck disable=SC2086
  [ -n "$out" ] && size=$(du -cb $out 2>/dev/null | tail -1 | cut -f1)
  echo "$label $wall $(awk -v u="$usr" -v s="$sys" 'BEGIN { print u + s }') $rss $size" >>"$tmp/figures"
}

# ours SRV SHAPE DSN : lakehouse ingest, single connection and with each --parallel N
ours() {
  local srv=$1 t=$2 dsn=$3 kind=postgres
  [ "$srv" = my ] && kind=mysql
  rm -rf "$tmp/d"
  run "${srv}_${t}_ours" "$tmp/d/primary/datasets" "$lh" ingest "$kind" --dsn "$dsn" \
    --table "$t" --data "$tmp/d" --codec zstd
  for n in $parallel; do
    rm -rf "$tmp/d"
    run "${srv}_${t}_ours_p$n" "$tmp/d/primary/datasets" "$lh" ingest "$kind" --dsn "$dsn" \
      --table "$t" --data "$tmp/d" --codec zstd --parallel "$n"
  done
  rm -rf "$tmp/d"
}

: >"$tmp/figures"
for round in $(seq "$rounds"); do
  echo "== round $round of $rounds"
  for srv in $servers; do
    for t in fat wide narrow; do
      if [ "$srv" = pg ]; then
        # shellcheck disable=SC1091
        . "$tmp/pg/env"
        run "pg_${t}_floor" "" "$floor" postgres \
          "host=$PG_HOST port=$PG_PORT user=lh_test password=$PG_PASSWORD dbname=$PG_DB" "$t"
        ours pg "$t" "$PG_USER_DSN"
        run "pg_${t}_duckdb" "$tmp/$t.parquet" bash -c \
          "psql -X -q '$PG_USER_DSN' -c '\\copy (SELECT * FROM $t) TO STDOUT (FORMAT csv, HEADER)' |
           node '$here/csv2parquet.mjs' '$tmp/$t.parquet' ',' '' auto"
      else
        # shellcheck disable=SC1091
        . "$tmp/my/env"
        run "my_${t}_floor" "" "$floor" mysql-text 127.0.0.1 "$MY_PORT" lh_test "$MY_PASSWORD" lhtest "$t"
        run "my_${t}_floorbin" "" "$floor" mysql 127.0.0.1 "$MY_PORT" lh_test "$MY_PASSWORD" lhtest "$t"
        ours my "$t" "$MY_USER_DSN"
        run "my_${t}_duckdb" "$tmp/$t.parquet" bash -c \
          "MYSQL_PWD='$MY_PASSWORD' mariadb --no-defaults -h127.0.0.1 -P'$MY_PORT' -ulh_test \
             --batch --quick -e 'SELECT * FROM $t' lhtest |
           node '$here/csv2parquet.mjs' '$tmp/$t.parquet' '\\t' 'NULL' auto"
      fi
      rm -f "$tmp/$t.parquet"
    done
  done
done
cp "$tmp/figures" "${FIGURES:-/dev/null}" 2>/dev/null || true

# medians over the rounds, then the ratios
awk -v fat="$fat_rows" -v wide="$wide_rows" -v narrow="$narrow_rows" '
  function med(arr, l, n,   i, j, t, v) {
    for (i = 1; i <= n; i++) v[i] = arr[l, i]
    for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  { if (!($1 in n)) order[++nl] = $1
    n[$1]++; k = $1 SUBSEP n[$1]; W[k] = $2; C[k] = $3; R[k] = $4; Z[k] = $5 }
  END {
    rows["fat"] = fat; rows["wide"] = wide; rows["narrow"] = narrow
    for (i = 1; i <= nl; i++) {
      l = order[i]; split(l, p, "_"); g = p[1] "_" p[2]
      if (!(g in seen)) { seen[g] = 1; groups[++ng] = g }
      w[l] = med(W, l, n[l]); c[l] = med(C, l, n[l]); r[l] = med(R, l, n[l]); z[l] = med(Z, l, n[l])
      printf "%-18s wall_s=%7.2f cpu_s_per_mrow=%8.3f peak_rss_mib=%7.1f parquet_mib=%8.2f  (%d runs)\n",
        l, w[l], c[l] / (rows[p[2]] / 1e6), r[l] / 1024, z[l] / 1048576, n[l]
    }
    for (i = 1; i <= ng; i++) {
      g = groups[i]; f = w[g "_floor"]
      if ((g "_floorbin") in w && w[g "_floorbin"] < f) f = w[g "_floorbin"]
      if (!((g "_ours") in w) || f <= 0 || w[g "_duckdb"] <= 0 || z[g "_duckdb"] <= 0) {
        printf "%s: a run failed, no ratios\n", g; continue
      }
      printf "%-10s ours/floor wall %.2f  ours/duckdb wall %.2f  ours/duckdb size %.3f  ours peak RSS %.0f MiB\n",
        g ":", w[g "_ours"] / f, w[g "_ours"] / w[g "_duckdb"], z[g "_ours"] / z[g "_duckdb"], r[g "_ours"] / 1024
      for (j = 1; j <= nl; j++) {
        l = order[j]
        if (index(l, g "_ours_p") == 1)
          printf "%-10s %s/floor wall %.2f  peak RSS %.0f MiB\n", g ":", substr(l, length(g) + 2), w[l] / f, r[l] / 1024
      }
    }
  }' "$tmp/figures"
