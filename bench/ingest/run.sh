#!/usr/bin/env bash
# bench/ingest/run.sh [ROWS] — source throughput against the floor clients.
#
# Starts throwaway PostgreSQL and MariaDB servers (tests/servers/*.sh),
# fills a ROWS-row table of the issue-4 benchmark shape in each (bigint id,
# int, numeric(12,2), double, 8-value text, ~24-char email, timestamptz,
# bool, small json; 5 % NULLs per column), then, alternating twice, drains
# it with the minimal floor client (floor.c) and with lh_source
# (bench_source.c). Each prints wall time, rows/s, client CPU s per million
# rows and peak RSS. Builds with plain cc against the static libraries of
# LH_BUILD (default build-source; `ninja lh_source` there first).
# Not a test: nothing is asserted.
set -euo pipefail
rows=${1:-1000000}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${LH_BUILD:-$root/build-source}
tmp=$(mktemp -d /tmp/lh-bench-ingest.XXXXXX)
chmod 755 "$tmp"
cleanup() {
  bash "$root/tests/servers/pg.sh" stop "$tmp/pg" >/dev/null 2>&1 || true
  bash "$root/tests/servers/mariadb.sh" stop "$tmp/my" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

ninja -C "$build" lh_source >/dev/null
cc -O2 -std=c17 -D_POSIX_C_SOURCE=200809L -I"$root/src" "$here/bench_source.c" \
  "$build/src/source/liblh_source.a" "$build/src/core/liblh_core.a" -lpq -lmariadb -lpthread \
  -o "$tmp/bench_source"
cc -O2 -std=c17 -D_POSIX_C_SOURCE=200809L -I/usr/include/postgresql -I/usr/include/mariadb \
  "$here/floor.c" -lpq -lmariadb -o "$tmp/floor"

bash "$root/tests/servers/pg.sh" start "$tmp/pg" >/dev/null
bash "$root/tests/servers/mariadb.sh" start "$tmp/my" >/dev/null
# shellcheck disable=SC1091
. "$tmp/pg/env"
# shellcheck disable=SC1091
. "$tmp/my/env"

echo "== filling $rows rows"
psql -X -q -v ON_ERROR_STOP=1 "$PG_SUPER_DSN" <<SQL
CREATE TABLE bench AS SELECT g::bigint AS id,
  CASE WHEN g % 20 = 1 THEN NULL ELSE (g * 7919) % 1000000 END::int AS qty,
  (CASE WHEN g % 20 = 2 THEN NULL ELSE (g % 100000) * 1.37 END)::numeric(12,2) AS amount,
  CASE WHEN g % 20 = 3 THEN NULL ELSE g * 0.001 END::float8 AS score,
  CASE WHEN g % 20 = 4 THEN NULL ELSE (ARRAY['alpha','beta','gamma','delta','epsilon','zeta','eta','theta'])[g % 8 + 1] END AS category,
  CASE WHEN g % 20 = 5 THEN NULL ELSE 'customer' || g || '@example.com' END AS email,
  CASE WHEN g % 20 = 6 THEN NULL ELSE timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' END AS created_at,
  CASE WHEN g % 20 = 7 THEN NULL ELSE g % 2 = 0 END AS active,
  CASE WHEN g % 20 = 8 THEN NULL ELSE json_build_object('k', g % 10, 'tag', 't' || (g % 5)) END AS meta
FROM generate_series(1::bigint, $rows) g;
VACUUM ANALYZE bench;
SQL
mariadb --no-defaults -uroot --socket="$MY_SOCKET" lhtest <<SQL
SET time_zone = '+00:00';
CREATE TABLE bench (id bigint PRIMARY KEY, qty int, amount decimal(12,2), score double,
  category varchar(16), email varchar(64), created_at timestamp(6) NULL DEFAULT NULL,
  active bool, meta json) ENGINE=InnoDB;
INSERT INTO bench SELECT seq, IF(seq%20=1,NULL,(seq*7919)%1000000), IF(seq%20=2,NULL,(seq%100000)*1.37),
  IF(seq%20=3,NULL,seq*0.001),
  IF(seq%20=4,NULL,ELT(seq%8+1,'alpha','beta','gamma','delta','epsilon','zeta','eta','theta')),
  IF(seq%20=5,NULL,CONCAT('customer',seq,'@example.com')),
  IF(seq%20=6,NULL,TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq SECOND), IF(seq%20=7,NULL,seq%2=0),
  IF(seq%20=8,NULL,JSON_OBJECT('k',seq%10,'tag',CONCAT('t',seq%5))) FROM seq_1_to_$rows;
SQL

for round in 1 2; do
  echo "== round $round"
  "$tmp/floor" postgres "$PG_SUPER_DSN" bench
  "$tmp/bench_source" postgres "$PG_SUPER_DSN" bench
  "$tmp/floor" mysql 127.0.0.1 "$MY_PORT" lh_test "$MY_PASSWORD" lhtest bench
  "$tmp/bench_source" mysql "$MY_USER_DSN" bench
done
