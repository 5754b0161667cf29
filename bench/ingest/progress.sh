#!/usr/bin/env bash
# bench/ingest/progress.sh [ROWS] [ROUNDS] — what progress reporting costs an
# ingest (issue 14: it must stay under 1 % of ingest throughput).
#
# Starts throwaway PostgreSQL and MariaDB servers (tests/servers/*.sh), fills
# a ROWS-row table (default 1000000) of the issue-4 benchmark shape in each,
# and runs ingest_progress_bench (progress.c): lh_ingest_run of the table
# with no callbacks and with the CLI's kind of on_progress plus an on_log,
# alternating, ROUNDS (default 5) times each. Prints rows/s of every run,
# the medians and their ratio, and the measured cost of the callbacks as a
# share of a run. The program comes from LH_BUILD (default build; `ninja
# ingest_progress_bench` there first). Not a test: nothing is asserted.
set -euo pipefail
rows=${1:-1000000}
rounds=${2:-5}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${LH_BUILD:-$root/build}
tmp=$(mktemp -d /tmp/lh-bench-progress.XXXXXX)
chmod 755 "$tmp"
cleanup() {
  bash "$root/tests/servers/pg.sh" stop "$tmp/pg" >/dev/null 2>&1 || true
  bash "$root/tests/servers/mariadb.sh" stop "$tmp/my" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

ninja -C "$build" ingest_progress_bench >/dev/null
bench=$build/bench/ingest_progress_bench
bash "$root/tests/servers/pg.sh" start "$tmp/pg" >/dev/null
bash "$root/tests/servers/mariadb.sh" start "$tmp/my" >/dev/null
# shellcheck disable=SC1091
. "$tmp/pg/env"
# shellcheck disable=SC1091
. "$tmp/my/env"

echo "== filling $rows rows"
psql -X -q -v ON_ERROR_STOP=1 "$PG_SUPER_DSN" <<SQL
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
GRANT SELECT ON bench TO PUBLIC;
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

echo "== PostgreSQL"
"$bench" postgres "$PG_USER_DSN" bench "$tmp/d" "$rounds"
echo "== MariaDB"
"$bench" mysql "$MY_USER_DSN" bench "$tmp/d" "$rounds"
