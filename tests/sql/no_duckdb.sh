#!/usr/bin/env bash
# no_duckdb.sh LAKEHOUSE PG_ENV WORKDIR — without libduckdb.so (LAKEHOUSE_DUCKDB
# pointing at a missing file) ingest still publishes a version, and SQL fails
# with one line that says how to install DuckDB; with the library the same
# data answers. Uses the ingest tests' PostgreSQL (ctest fixture).
set -euo pipefail
lh=$1
. "$2"
work=$3/no-duckdb
rm -rf "$work" && mkdir -p "$work"
psql=/usr/lib/postgresql/15/bin/psql
"$psql" -X -q -v ON_ERROR_STOP=1 -d "$PG_SUPER_DSN" -c \
  "DROP TABLE IF EXISTS nodb; CREATE TABLE nodb (id int, amount numeric(8,2));
   INSERT INTO nodb VALUES (1, 9.99), (2, 11.99), (3, NULL);"
fail() { echo "no_duckdb: $*" >&2; exit 1; }

export LAKEHOUSE_DUCKDB=/nonexistent/libduckdb.so
"$lh" ingest postgres --dsn "$PG_SUPER_DSN" --table nodb --data "$work/data" >"$work/ingest.out" ||
  fail "ingest failed without libduckdb.so"
grep -q 'rows=3 dataset=nodb' "$work/ingest.out" || fail "ingest said: $(cat "$work/ingest.out")"
"$lh" datasets --data "$work/data" >/dev/null || fail "datasets failed without libduckdb.so"

if "$lh" sql --data "$work/data" 'SELECT max(amount) FROM nodb' >"$work/sql.out" 2>"$work/sql.err"; then
  fail "sql succeeded without libduckdb.so"
fi
[ "$(wc -l <"$work/sql.err")" = 1 ] || fail "not one line: $(cat "$work/sql.err")"
grep -q '^lakehouse: sql: SQL needs DuckDB, but /nonexistent/libduckdb.so could not be loaded' "$work/sql.err" ||
  fail "message: $(cat "$work/sql.err")"
grep -q 'scripts/install-deps.sh' "$work/sql.err" || fail "no install hint: $(cat "$work/sql.err")"
[ ! -s "$work/sql.out" ] || fail "sql wrote to stdout: $(cat "$work/sql.out")"

unset LAKEHOUSE_DUCKDB
out=$("$lh" sql --data "$work/data" --format csv 'SELECT max(amount), sum(amount) FROM nodb')
[ "$out" = "$(printf 'max(amount),sum(amount)\n11.99,21.98')" ] || fail "with DuckDB: $out"
rm -rf "$work"
echo "no_duckdb: ok"
