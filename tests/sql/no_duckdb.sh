#!/usr/bin/env bash
# no_duckdb.sh LAKEHOUSE PG_ENV WORKDIR — without libduckdb.so (LAKEHOUSE_DUCKDB
# pointing at a missing file) ingest still publishes a version, from the CLI
# and through a running daemon, and SQL fails with one line that says how to
# install DuckDB (the CLI: exit 1; POST /api/sql: 501); with the library the
# same data answers. Uses the ingest tests' PostgreSQL (ctest fixture).
set -euo pipefail
lh=$1
. "$2"
work=$3/no-duckdb
rm -rf "$work" && mkdir -p "$work"
psql=/usr/lib/postgresql/15/bin/psql
"$psql" -X -q -v ON_ERROR_STOP=1 -d "$PG_SUPER_DSN" -c \
  "DROP TABLE IF EXISTS nodb; CREATE TABLE nodb (id int, amount numeric(8,2));
   INSERT INTO nodb VALUES (1, 9.99), (2, 11.99), (3, NULL); GRANT SELECT ON nodb TO lh_test;"
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

# the daemon: it starts, ingests through the API, and answers SQL with 501
HOME=$work "$lh" serve --data "$work/data2" --listen 127.0.0.1:0 >"$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
url=
for _ in $(seq 200); do
  url=$(sed -n 's/^lakehouse: listening on \(http[^ ]*\).*/\1/p' "$work/serve.log")
  [ -n "$url" ] && break
  sleep 0.05
done
[ -n "$url" ] || fail "the daemon did not start: $(cat "$work/serve.log")"
body=$(printf '{"type":"postgres","dsn":"%s","table":"nodb"}' "$PG_USER_DSN")
code=$(curl -s -o "$work/ingest.json" -w '%{http_code}' -H 'content-type: application/json' \
  -d "$body" "$url/api/ingest?wait=true")
[ "$code" = 200 ] || fail "POST /api/ingest: $code $(cat "$work/ingest.json")"
grep -q '"rows": *3' "$work/ingest.json" || fail "POST /api/ingest: $(cat "$work/ingest.json")"
code=$(curl -s -o "$work/sql.json" -w '%{http_code}' -H 'content-type: application/json' \
  -d '{"sql":"SELECT 1"}' "$url/api/sql")
[ "$code" = 501 ] || fail "POST /api/sql without libduckdb.so: $code $(cat "$work/sql.json")"
grep -q 'SQL needs DuckDB, but /nonexistent/libduckdb.so could not be loaded' "$work/sql.json" ||
  fail "POST /api/sql: $(cat "$work/sql.json")"
curl -sf "$url/api/datasets" | grep -q '"nodb"' || fail "GET /api/datasets lacks nodb"
kill "$pid"
wait "$pid" 2>/dev/null || true
trap - EXIT

unset LAKEHOUSE_DUCKDB
out=$("$lh" sql --data "$work/data" --format csv 'SELECT max(amount), sum(amount) FROM nodb')
[ "$out" = "$(printf 'max(amount),sum(amount)\n11.99,21.98')" ] || fail "with DuckDB: $out"
rm -rf "$work"
echo "no_duckdb: ok"
