#!/bin/sh
# `lakehouse schedule`: add/list/show/update/pause/resume/rm/run/runs on a
# fresh data directory; passwords never reach the store or the output; a
# reference-shaped plaintext file is re-written sealed.
# usage: cli_schedule.sh path/to/lakehouse
set -u
LH=$1
T=$(mktemp -d /tmp/lh-cli-sched-XXXXXX)
trap 'rm -rf "$T"' EXIT
export LAKEHOUSE_DATA="$T/data" LAKEHOUSE_SECRET_KEY_FILE="$T/secret.key"
unset LAKEHOUSE_SECRET_KEY
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
expect() { # name want-rc cmd...
    name=$1 want=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
    if [ "$rc" = "$want" ]; then ok "$name"; else bad "$name (rc=$rc): $(cat "$T/out" "$T/err")"; fi
}
has() { # name file pattern
    if grep -q -- "$3" "$2"; then ok "$1"; else bad "$1: no '$3' in $(cat "$2")"; fi
}
hasnt() {
    if grep -rq -- "$3" "$2"; then bad "$1: '$3' found"; else ok "$1"; fi
}

expect "list without data dir" 1 "$LH" schedule list
has "list error names dir" "$T/err" "does not exist"
expect "add mysql" 0 "$LH" schedule add customers-hourly --mysql \
    --dsn 'mysql://etl:Pw-0f-Etl@db:3306/shop' --table customers --every 1h
has "add prints redacted dsn" "$T/out" "mysql://etl:\*\*\*@db:3306/shop"
expect "key file created" 0 test -f "$T/secret.key"
expect "add postgres cron" 0 "$LH" schedule add nightly --postgres \
    --dsn 'postgres://ro@pg/app' --password-env PGPASS --table public.orders \
    --cron '30 2 * * *' --tz America/New_York --retries 2 --timeout 10m --catch-up skip
# issue 14: a cron schedule waits for its first cron time; the CLI says
# when that is, in UTC and in the zone, and that nothing fires without a daemon
has "cron first run in UTC" "$T/out" "first run: [0-9-]*T0[67]:30:00Z"
has "cron first run in its zone" "$T/out" "T02:30:00-0[45]:00 America/New_York"
has "no daemon: nothing fires" "$T/out" "nothing fires until 'lakehouse serve'"
# within [t0, t1] (seconds since the epoch, 1 s of slack each side)
between() { # between NAME TIMESTAMP T0 T1
  local t; t=$(date -u -d "$2" +%s 2>/dev/null || echo 0)
  if [ "$t" -ge $(($3 - 1)) ] && [ "$t" -le $(($4 + 1)) ]; then ok "$1"; else bad "$1: $2"; fi
}
t0=$(date -u +%s)
expect "add cron --run-now" 0 "$LH" schedule add nightly-now --postgres \
    --dsn 'postgres://ro@pg/app' --table t --cron '30 2 * * *' --tz America/New_York --run-now
t1=$(date -u +%s)
expect "show cron --run-now" 0 "$LH" schedule show nightly-now --json
between "--run-now is due now" "$(sed -n 's/.*"next_run_at": "\([^"]*\)".*/\1/p' "$T/out")" "$t0" "$t1"
t0=$(date -u +%s)
expect "add interval --no-run-now" 0 "$LH" schedule add later --postgres \
    --dsn 'postgres://ro@pg/app' --table t --every 2d --no-run-now
t1=$(date -u +%s)
between "--no-run-now waits one interval" \
    "$(sed -n 's/^first run: \([^ ]*\).*/\1/p' "$T/out")" $((t0 + 172800)) $((t1 + 172800))
expect "--run-now only on add" 2 "$LH" schedule update later --run-now
expect "rm nightly-now" 0 "$LH" schedule rm nightly-now
expect "rm later" 0 "$LH" schedule rm later
expect "add duplicate" 1 "$LH" schedule add nightly --postgres --dsn 'postgres://h/d' \
    --table t --every 1m
has "duplicate message" "$T/err" "already exists"
expect "add bad trigger" 2 "$LH" schedule add x --mysql --dsn 'mysql://h/d' --table t --cron '61 * * * *'
has "bad cron names the field" "$T/err" "trigger.expr"
expect "add bad duration" 2 "$LH" schedule add y --mysql --dsn 'mysql://h/d' --table t --every 5x
# what is copied: a query, columns and where; bad combinations are one line, exit 2
expect "add query" 0 "$LH" schedule add totals --postgres --dsn 'postgres://ro@pg/app' \
    --query 'SELECT id, sum(x) AS total FROM t GROUP BY id' --dataset totals --every 1h
expect "show query" 0 "$LH" schedule show totals --json
has "json query" "$T/out" '"query": "SELECT id, sum(x) AS total FROM t GROUP BY id"'
expect "add columns where" 0 "$LH" schedule add part --postgres --dsn 'postgres://ro@pg/app' \
    --table sales.orders --columns 'id,amount' --where "region = 'eu'" --every 1h
expect "show part" 0 "$LH" schedule show part
has "show columns" "$T/out" "columns  *id,amount"
has "show where" "$T/out" "where  *region = 'eu'"
has "show default dataset" "$T/out" "dataset  *sales_orders"
for c in "--table t --query q" "--query q" "--query q --dataset d --columns a" \
    "--query q --dataset d --where x" "--table ''"; do
    eval "set -- $c"
    expect "bad combination: $c" 2 "$LH" schedule add combo --postgres --dsn 'postgres://h/d' \
        --every 1h "$@"
    if [ "$(wc -l <"$T/err")" = 1 ]; then ok "one line: $c"; else bad "one line: $c: $(cat "$T/err")"; fi
done
expect "update table to query without dataset" 2 "$LH" schedule update part --query 'SELECT 1'
expect "update where" 0 "$LH" schedule update part --where 'id > 7' --columns ''
expect "show updated" 0 "$LH" schedule show part --json
has "where updated" "$T/out" '"where": "id > 7"'
hasnt "columns cleared" "$T/out" '"columns"'
expect "update to query" 0 "$LH" schedule update part --query 'SELECT 2 AS id' --where '' \
    --dataset part2
expect "show query schedule" 0 "$LH" schedule show part --json
has "query updated" "$T/out" '"query": "SELECT 2 AS id"'
has "table cleared" "$T/out" '"table": ""'
expect "rm totals" 0 "$LH" schedule rm totals
expect "rm part" 0 "$LH" schedule rm part
expect "list" 0 "$LH" schedule list
has "list header" "$T/out" "ID  *KIND  *DATASET  *TRIGGER  *ENABLED  *NEXT RUN  *OK  *FAILED  *LAST OUTCOME"
has "list row" "$T/out" "nightly  *postgres:public.orders  *orders  *cron 30 2 \* \* \* America/New_York  *yes"
expect "pause" 0 "$LH" schedule pause nightly --reason maintenance
expect "show paused" 0 "$LH" schedule show nightly
has "show reason" "$T/out" "maintenance"
expect "resume" 0 "$LH" schedule resume nightly
expect "update" 0 "$LH" schedule update customers-hourly --every 90s --anchor fixed --description 'hi'
expect "show json" 0 "$LH" schedule show customers-hourly --json
has "json secs" "$T/out" '"secs": 90'
has "json anchor" "$T/out" '"anchor": "fixed"'
expect "list json" 0 "$LH" schedule list --json
has "list json ids" "$T/out" '"id": "nightly"'
hasnt "no password in store" "$T/data" "Pw-0f-Etl"
hasnt "no password in output" "$T/out" "Pw-0f-Etl"
# Without a daemon, run executes inline; this one cannot even build its DSN.
expect "run inline fails" 1 "$LH" schedule run nightly
has "run message names the variable" "$T/err" "environment variable PGPASS (kind.password_env) is not set"
expect "runs empty" 0 "$LH" schedule runs nightly
# a file as the reference wrote it: plaintext password
mkdir -p "$T/data/primary/_schedules" 2>/dev/null
ref='{"id":"legacy","kind":{"type":"mysql","dsn":"mysql://u:Legacy-Pw@h:3306/db","table":"t","dataset_name":null,"batch_size":null,"order_by":null},"trigger":{"type":"interval","secs":60},"enabled":true,"created_at":"2026-04-16T20:36:04Z","created_by":"ops","next_run_at":"2026-04-16T20:36:04Z","last_run_at":null,"last_outcome":null,"run_count":0,"failure_count":0}'
f=$(ls -d "$T"/data/*/_schedules 2>/dev/null | head -1)
[ -n "$f" ] || f="$T/data/_schedules"
printf '%s' "$ref" >"$f/legacy.json"
expect "list with legacy" 0 "$LH" schedule list
has "legacy listed" "$T/out" "legacy"
hasnt "legacy re-written sealed" "$T/data" "Legacy-Pw"
printf '{"id":' >"$f/broken.json"
expect "list with broken" 0 "$LH" schedule list
has "broken warned" "$T/err" "broken.json"
expect "rm" 0 "$LH" schedule rm nightly
expect "show removed" 1 "$LH" schedule show nightly
expect "unknown command" 2 "$LH" schedule frobnicate
[ "$fails" = 0 ] || { echo "$fails failed"; exit 1; }
