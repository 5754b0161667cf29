#!/usr/bin/env bash
# Managing datasets (issue 15 "Manage datasets"), from the CLI and the API,
# against a real PostgreSQL (tests/servers/pg.sh):
#   - `datasets NAME --files [--json]`: the current version's parts, whose
#     URIs DuckDB reads to the same count and sum as `lakehouse sql`;
#   - `datasets rollback NAME VERSION`: a new version with VERSION's parts,
#     read back by DuckDB, `lakehouse sql` and icebird (the Iceberg table's
#     current snapshot) equal to VERSION's content; unknown or retention-removed versions refused;
#   - `datasets rm NAME`: --yes required without a terminal (exit 2), refused
#     while a schedule writes to the dataset, --force pauses the schedule
#     (paused_reason names the rm); nothing of the dataset is left in the store;
#   - the same through the daemon's API: GET /api/datasets/{name}/files,
#     POST .../rollback (400 naming the field, 409 unknown version), DELETE
#     (404 unknown, 409 while scheduled, 200 with ?force=true);
#   - every bad input: one line, exit 2.
# usage: cli_datasets.sh path/to/lakehouse path/to/pg/env path/to/tests/node
set -u
LH=$1
. "$2"
export LH_NODE_DIR=$3
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/lh-cli-ds-XXXXXX)
SERVE_PID=
cleanup() {
    [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
export LAKEHOUSE_DATA="$T/data" LAKEHOUSE_SECRET_KEY_FILE="$T/secret.key"
unset LAKEHOUSE_SECRET_KEY LAKEHOUSE_SERVER LAKEHOUSE_CONFIG LAKEHOUSE_STORE LAKEHOUSE_TOKEN
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
expect() { # name want-rc cmd...
    local name=$1 want=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err" </dev/null
    local rc=$?
    if [ "$rc" = "$want" ]; then ok "$name"; else
        bad "$name (rc=$rc, want $want): $(head -c 1500 "$T/out") $(head -c 1500 "$T/err")"; fi
}
one_line() { # name: stderr is exactly one line
    [ "$(wc -l <"$T/err")" = 1 ] && ok "$1: one line" || bad "$1: stderr $(cat "$T/err")"
}
has() { if grep -q -- "$3" "$2"; then ok "$1"; else bad "$1: no '$3' in $(head -c 1500 "$2")"; fi; }
eq() { [ "$2" = "$3" ] && ok "$1" || bad "$1: '$2' != '$3'"; }
jget() {
    node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
             const v = eval(process.argv[2]); console.log(typeof v === "object" ? JSON.stringify(v) : String(v))' "$1" "$2"
}
sql_cs() { # dataset -> "count sum"
    "$LH" sql "SELECT count(*), coalesce(sum(v), 0) FROM \"$1\"" --format csv 2>"$T/sqlerr" |
        tail -n 1 | tr ',' ' '
}
duck_cs() { # dataset -> "count sum" of the files --files lists
    "$LH" datasets "$1" --files --json >"$T/files.json" && node "$HERE/duckdb_files.mjs" "$T/files.json"
}

PSQL=(/usr/lib/postgresql/15/bin/psql -X -q -v ON_ERROR_STOP=1 "$PG_USER_DSN")
"${PSQL[@]}" <<'SQL' || { echo "FAIL cannot create the tables"; exit 1; }
DROP TABLE IF EXISTS ds_a, ds_b CASCADE;
CREATE TABLE ds_a (id int PRIMARY KEY, v int);
INSERT INTO ds_a SELECT g, g FROM generate_series(1, 100) g;
CREATE TABLE ds_b (id int PRIMARY KEY, v int);
INSERT INTO ds_b SELECT g, 2 * g FROM generate_series(1, 10) g;
SQL
ing() { "$LH" ingest postgres --dsn "$PG_USER_DSN" --table "$1" --dataset "$2" "${@:3}" >/dev/null 2>"$T/ingerr" ||
        bad "ingest $1: $(cat "$T/ingerr")"; }

# ---------------------------------------------------------------- --files
ing ds_a ds_a                            # v1: 100 rows, sum 5050
"${PSQL[@]}" -c "INSERT INTO ds_a SELECT g, g FROM generate_series(101, 300) g"
ing ds_a ds_a                            # v2: 300 rows, sum 45150
expect "--files" 0 "$LH" datasets ds_a --files
has "--files lists a part key and its file:// URI" "$T/out" "^datasets/ds_a/run-.*/part-.*\.parquet	file:///"
eq "DuckDB reads the listed files like lakehouse sql (v2)" "$(duck_cs ds_a)" "$(sql_cs ds_a)"
eq "v2 content" "$(sql_cs ds_a)" "300 45150"
expect "--files without a name" 2 "$LH" datasets --files
one_line "--files without a name"
expect "--files of an unknown dataset" 1 "$LH" datasets nosuch --files
one_line "--files unknown"

# ---------------------------------------------------------------- rollback
expect "rollback to v1" 0 "$LH" datasets rollback ds_a 1
has "rollback says what it published" "$T/out" "dataset ds_a: version 3 published with the parts of version 1"
eq "after rollback: lakehouse sql sees v1's content" "$(sql_cs ds_a)" "100 5050"
eq "after rollback: DuckDB on --files sees v1's content" "$(duck_cs ds_a)" "100 5050"
eq "the rolled-back version is 3" "$(jget "$T/files.json" j.version)" "3"
"$LH" datasets ds_a --json >"$T/rec.json"
eq "history kept: versions 1,2,3" "$(jget "$T/rec.json" 'j.versions.map(v => v.version).join(",")')" "1,2,3"
eq "v3 lists v1's parts (nothing rewritten)" \
   "$(jget "$T/rec.json" 'JSON.stringify(j.versions[2].objects.map(o => o.key)) === JSON.stringify(j.versions[0].objects.map(o => o.key))')" true
eq "Iceberg hint follows" "$(cat "$T/data/primary/datasets/ds_a/metadata/version-hint.text" 2>/dev/null)" "3"
eq "an Iceberg reader (icebird) sees v1's content" \
   "$(node "$HERE/icebird_table.mjs" "file://$T/data/primary/datasets/ds_a" 2>&1)" "100 5050"
eq "v2 still readable (time travel)" "$("$LH" sql 'SELECT count(*) FROM "ds_a@2"' --format csv | tail -n 1)" "300"
expect "rollback to the current version" 1 "$LH" datasets rollback ds_a 3
one_line "rollback current"
expect "rollback to an unknown version" 1 "$LH" datasets rollback ds_a 99
has "unknown version named" "$T/err" "no version 99"
one_line "rollback unknown"
expect "rollback without VERSION" 2 "$LH" datasets rollback ds_a
one_line "rollback without VERSION"
expect "rollback with a bad VERSION" 2 "$LH" datasets rollback ds_a two
one_line "rollback bad VERSION"
expect "rollback of an unknown dataset" 1 "$LH" datasets rollback nosuch 1
one_line "rollback unknown dataset"
# retention: keep 2 versions, then v1 is gone
ing ds_a ds_a --keep-versions 2
expect "rollback to a version retention removed" 1 "$LH" datasets rollback ds_a 1
has "retention named" "$T/err" "removed by retention"
one_line "rollback removed"

# ---------------------------------------------------------------- rm
expect "rm without --yes and no terminal" 2 "$LH" datasets rm ds_a
has "rm says to pass --yes" "$T/err" "pass --yes"
one_line "rm without --yes"
# on a terminal (script(1) gives it one) rm asks; only the name confirms
ing ds_b ds_t
printf 'yes\n' | script -qec "$LH datasets rm ds_t" /dev/null >"$T/tty" 2>&1
rc=$?
eq "rm on a terminal, answered 'yes': not removed (exit 1)" "$rc" 1
has "rm on a terminal asks" "$T/tty" "type its name to confirm"
[ -f "$T/data/primary/_catalog/ds_t.json" ] && ok "unconfirmed rm left the record" || bad "unconfirmed rm removed it"
printf 'ds_t\n' | script -qec "$LH datasets rm ds_t" /dev/null >"$T/tty" 2>&1
eq "rm on a terminal, answered with the name: removed" "$?" 0
[ ! -e "$T/data/primary/_catalog/ds_t.json" ] && [ ! -e "$T/data/primary/datasets/ds_t" ] &&
    ok "confirmed rm removed record and parts" || bad "confirmed rm left something: $(cat "$T/tty")"
expect "rm without a name" 2 "$LH" datasets rm
one_line "rm without a name"
expect "--force without rm" 2 "$LH" datasets ds_a --force
expect "add a schedule writing ds_a" 0 "$LH" schedule add w_a --postgres --dsn "$PG_USER_DSN" \
    --table ds_a --dataset ds_a --cron '0 2 * * *'
expect "rm while a schedule writes to it" 1 "$LH" datasets rm ds_a --yes
has "rm names the schedule" "$T/err" "schedule w_a"
one_line "rm while scheduled"
[ -f "$T/data/primary/_catalog/ds_a.json" ] && ok "refused rm left the record" || bad "record gone after a refused rm"
expect "rm --force" 0 "$LH" datasets rm ds_a --yes --force
has "rm --force says it paused the schedule" "$T/out" "paused schedules w_a"
expect "schedule paused" 0 "$LH" schedule show w_a --json
eq "schedule disabled" "$(jget "$T/out" j.enabled)" false
has "paused_reason names the rm" "$T/out" "datasets rm ds_a"
left=$(cd "$T/data/primary" && find . -path "*ds_a*" 2>/dev/null | grep -v "^./_schedules\|^./_runs")
eq "nothing of ds_a left in the store" "$left" ""
expect "the dataset is gone" 1 "$LH" datasets ds_a
expect "rm again: not found" 1 "$LH" datasets rm ds_a --yes
has "rm unknown says not found" "$T/err" "not found"
one_line "rm unknown"

# ------------------------------------------ a crash after rm's commit point
# The record is gone, the parts and Iceberg metadata are not (as a kill right
# after the record's delete leaves them): the daemon's start-up sweep
# removes them (runs count as dead after 2 lease times: 1 s here).
ing ds_b ds_c
rm -f "$T/data/primary/_catalog/ds_c.json"
[ -f "$T/data/primary/datasets/ds_c/metadata/version-hint.text" ] && ok "crash leftovers in place" ||
    bad "no leftovers to sweep"
echo '{"sweep_after_secs": 1}' >"$T/config.json"
sleep 2.5

# ---------------------------------------------------------------- the API
ing ds_b ds_b
"${PSQL[@]}" -c "INSERT INTO ds_b SELECT g, 2 * g FROM generate_series(11, 20) g"
ing ds_b ds_b
LAKEHOUSE_RUN_LEASE_SECS=1 "$LH" serve --listen 127.0.0.1:0 --data "$LAKEHOUSE_DATA" \
    --config "$T/config.json" >"$T/serve.out" 2>"$T/serve.log" &
SERVE_PID=$!
for _ in $(seq 1 100); do
    grep -q "listening on" "$T/serve.out" && break
    sleep 0.1
done
URL=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$T/serve.out" | head -n 1)
[ -n "$URL" ] && ok "daemon at $URL" || { bad "no daemon: $(cat "$T/serve.log")"; exit 1; }
api() { # name want-status method path [body]
    local code
    code=$(curl -s -o "$T/body" -w '%{http_code}' -H 'X-Lakehouse-Client: test' -X "$3" ${5:+-H 'Content-Type: application/json' --data "$5"} "$URL$4")
    eq "$1: HTTP $2" "$code" "$2"
}
left=$(cd "$T/data/primary" && find . -path "*ds_c*" -type f 2>/dev/null)
eq "start-up sweep removed what the interrupted rm left" "$left" ""
api "GET files" 200 GET /api/datasets/ds_b/files
eq "files: version 2" "$(jget "$T/body" j.version)" 2
node "$HERE/duckdb_files.mjs" "$T/body" >"$T/duck" && eq "API files read by DuckDB" "$(cat "$T/duck")" "20 420"
api "GET files unknown" 404 GET /api/datasets/nosuch/files
api "rollback without version" 400 POST /api/datasets/ds_b/rollback '{}'
eq "400 names the field" "$(jget "$T/body" j.field)" version
api "rollback with a string version" 400 POST /api/datasets/ds_b/rollback '{"version": "1"}'
api "rollback with an unknown field" 400 POST /api/datasets/ds_b/rollback '{"version": 1, "x": 2}'
api "rollback to an unknown version" 409 POST /api/datasets/ds_b/rollback '{"version": 42}'
api "rollback of an unknown dataset" 404 POST /api/datasets/nosuch/rollback '{"version": 1}'
api "rollback to v1" 200 POST /api/datasets/ds_b/rollback '{"version": 1}'
eq "rollback answer: version 3" "$(jget "$T/body" j.version)" 3
eq "API rollback: lakehouse sql sees v1" "$(sql_cs ds_b)" "10 110"
expect "CLI rollback through the daemon" 0 "$LH" datasets rollback ds_b 2
eq "CLI rollback via daemon: v2 content" "$(sql_cs ds_b)" "20 420"
api "DELETE unknown" 404 DELETE /api/datasets/nosuch
api "DELETE bad force" 400 DELETE "/api/datasets/ds_b?force=maybe"
expect "add a schedule writing ds_b" 0 "$LH" schedule add w_b --postgres --dsn "$PG_USER_DSN" \
    --table ds_b --cron '0 2 * * *'
api "DELETE while scheduled" 409 DELETE /api/datasets/ds_b
eq "409 names the schedule" "$(jget "$T/body" 'j.schedules.join()')" w_b
api "DELETE with force" 200 DELETE "/api/datasets/ds_b?force=true"
eq "DELETE paused w_b" "$(jget "$T/body" 'j.paused_schedules.join()')" w_b
curl -s "$URL/api/schedules/w_b" >"$T/sch"
eq "w_b paused" "$(jget "$T/sch" j.enabled)" false
api "GET after DELETE" 404 GET /api/datasets/ds_b
left=$(cd "$T/data/primary" && find . -path "*ds_b*" 2>/dev/null | grep -v "^./_schedules\|^./_runs")
eq "nothing of ds_b left in the store" "$left" ""

# ------------------------------------------- $LAKEHOUSE_STORE, one rule
# Every command picks its store by one rule (docs/cli.md): --store, --data,
# $LAKEHOUSE_STORE, $LAKEHOUSE_DATA, the config, ./lakehouse-data. ingest,
# datasets and sql used to skip $LAKEHOUSE_STORE and write to
# $LAKEHOUSE_DATA (still set here) instead.
mkdir -p "$T/envstore"
LAKEHOUSE_STORE="$T/envstore" ing ds_a env_ds
[ -n "$(find "$T/envstore" -path "*env_ds*" -print -quit)" ] &&
    ok "ingest wrote to \$LAKEHOUSE_STORE" || bad "ingest ignored \$LAKEHOUSE_STORE"
[ -z "$(find "$T/data" -path '*env_ds*' -print -quit)" ] && ok "nothing of env_ds under \$LAKEHOUSE_DATA" ||
    bad "env_ds written under \$LAKEHOUSE_DATA"
expect "datasets reads \$LAKEHOUSE_STORE" 0 env LAKEHOUSE_STORE="$T/envstore" "$LH" datasets
has "datasets lists env_ds" "$T/out" "env_ds"
eq "sql reads \$LAKEHOUSE_STORE" "$(LAKEHOUSE_STORE="$T/envstore" sql_cs env_ds)" "300 45150"
expect "--data wins over \$LAKEHOUSE_STORE" 0 env LAKEHOUSE_STORE="$T/envstore" "$LH" datasets --data "$T/data"
if grep -q env_ds "$T/out"; then bad "--data did not win"; else ok "--data: no env_ds"; fi

echo "$fails failures"
[ "$fails" = 0 ]
