#!/usr/bin/env bash
# Runs you can watch, stop, wait for and script (issue 14), from the CLI,
# against a real PostgreSQL (tests/servers/pg.sh), first without a daemon
# (the run happens in the CLI; the history is read from the store), then
# with `lakehouse serve` found through the store's _daemon.json.
#   - `schedule run ID --wait`: exit 0 on success, 1 on failure or cancel,
#     the outcome printed (text and --json), with and without a daemon;
#   - `runs`, `runs show/log/cancel`, `schedule runs/cancel`, --state,
#     --schedule; cancel without a daemon says nothing runs (exit 1);
#   - output for people: nothing cut when piped, the target dataset listed,
#     the last outcome printed once, times in the schedule's zone, no next
#     run while paused;
#   - a slow source (a view that sleeps per row) watched (progress in
#     `schedule show`), cancelled from `runs cancel` and `schedule cancel`,
#     and Ctrl-C (SIGTERM here: a background job ignores SIGINT) stopping
#     the waiting but not the run, or the run with --cancel-on-interrupt.
# usage: cli_runs.sh path/to/lakehouse path/to/pg/env
set -u
LH=$1
. "$2"
T=$(mktemp -d /tmp/lh-cli-runs-XXXXXX)
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
    "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    if [ "$rc" = "$want" ]; then ok "$name"; else
        bad "$name (rc=$rc, want $want): $(head -c 1500 "$T/out") $(head -c 1500 "$T/err")"; fi
}
has() { # name file pattern
    if grep -q -- "$3" "$2"; then ok "$1"; else bad "$1: no '$3' in $(head -c 1500 "$2")"; fi
}
hasnt() {
    if grep -q -- "$3" "$2"; then bad "$1: '$3' found in $(head -c 1500 "$2")"; else ok "$1"; fi
}
jget() { # file js-expression-on-j -> prints the value
    node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
             const v = eval(process.argv[2]); console.log(typeof v === "object" ? JSON.stringify(v) : String(v))' "$1" "$2"
}
# until NAME SECS cmd...: retry a check every 0.2 s for up to SECS seconds.
# Every wait here is for something that will happen: 120 s, so that a
# loaded machine (ASan, a dozen other tests) is slow but not a failure.
until_ok() {
    local name=$1 secs=$2
    shift 2
    local end=$((SECONDS + secs))
    while [ $SECONDS -lt $end ]; do
        if "$@" >/dev/null 2>&1; then ok "$name"; return 0; fi
        sleep 0.2
    done
    bad "$name (not within ${secs}s)"
    return 1
}

PSQL=(/usr/lib/postgresql/15/bin/psql -X -q -v ON_ERROR_STOP=1 "$PG_USER_DSN")
"${PSQL[@]}" <<'SQL' || { echo "FAIL cannot create the tables"; exit 1; }
DROP TABLE IF EXISTS cli_orders CASCADE;
CREATE TABLE cli_orders (id int PRIMARY KEY, amount numeric(10,2), note text);
INSERT INTO cli_orders SELECT g, g * 1.5, 'order ' || g FROM generate_series(1, 500) g;
-- a slow source: each row costs 20 ms, so 100000 rows take half an hour
CREATE OR REPLACE VIEW cli_slow AS
  SELECT g AS id, (pg_sleep(0.02) IS NOT NULL) AS slept FROM generate_series(1, 100000) g;
SQL
# the good schedule's host and database on a port nobody listens on: the
# same source as the dataset's (else the run would be refused as another
# source before it connects), a connection that is refused
BAD_DSN='postgresql://nobody:pw@127.0.0.1:1/lhtest'

# ------------------------------------------------------------ without a daemon
expect "add good" 0 "$LH" schedule add good --postgres --dsn "$PG_USER_DSN" --table cli_orders \
    --dataset cli_orders --cron '0 2 * * *' --tz Europe/Berlin
expect "add bad" 0 "$LH" schedule add bad --postgres --dsn "$BAD_DSN" --table cli_orders \
    --every 1h --no-run-now
expect "add slow" 0 "$LH" schedule add slow --postgres --dsn "$PG_USER_DSN" --table cli_slow \
    --every 1d --no-run-now --batch-size 20

expect "run --wait good: exit 0" 0 "$LH" schedule run good --wait
has "run --wait good prints the outcome" "$T/out" "succeeded: rows=500 dataset=cli_orders"
expect "run --wait --json good: exit 0" 0 "$LH" schedule run good --wait --json
[ "$(jget "$T/out" j.state)" = succeeded ] && ok "run --json: state" || bad "run --json: $(cat "$T/out")"
[ "$(jget "$T/out" j.version)" = 2 ] && ok "run --json: version 2" || bad "run --json version: $(cat "$T/out")"
[ "$(jget "$T/out" j.rows)" = 500 ] && ok "run --json: rows" || bad "run --json rows"
expect "run --wait bad: exit 1" 1 "$LH" schedule run bad --wait
has "run --wait bad says failed" "$T/err" "failed: .*Connection refused"
expect "run bad without --wait (no daemon: inline): exit 1" 1 "$LH" schedule run bad

expect "runs" 0 "$LH" runs
has "runs lists good" "$T/out" "good .*succeeded"
has "runs lists bad" "$T/out" "bad .*failed"
expect "runs --state failed --json" 0 "$LH" runs --state failed --json
[ "$(jget "$T/out" 'j.runs.length')" = 2 ] && ok "--state failed: 2 runs" || bad "--state failed: $(cat "$T/out")"
[ "$(jget "$T/out" 'j.runs.every(r => r.schedule_id === "bad")')" = true ] && ok "--state failed: only bad" || bad "--state failed: other runs"
expect "runs --schedule good --json" 0 "$LH" runs --schedule good --json
[ "$(jget "$T/out" 'j.runs.length')" = 2 ] && ok "--schedule good: 2 runs" || bad "--schedule: $(cat "$T/out")"
[ "$(jget "$T/out" 'j.runs[0].dataset')" = cli_orders ] && ok "runs name the dataset" || bad "runs dataset"
GOOD_RUN=$(jget "$T/out" 'j.runs[0].run_id')
expect "schedule runs --all = runs" 0 "$LH" schedule runs --all --json
[ "$(jget "$T/out" 'j.runs.length')" = 4 ] && ok "schedule runs --all: 4 runs" || bad "--all: $(cat "$T/out")"
expect "schedule runs bad --limit 1" 0 "$LH" schedule runs bad --limit 1
BAD_RUN=$(sed -n '2s/ .*//p' "$T/out")
has "--limit 1 says how to page" "$T/out" "--before $BAD_RUN"
expect "schedule runs bad --limit 2 (all of them)" 0 "$LH" schedule runs bad --limit 2
hasnt "no paging hint when nothing is left" "$T/out" "--before"
expect "runs --before pages back" 0 "$LH" runs --schedule bad --before "$BAD_RUN" --json
[ "$(jget "$T/out" "j.runs.length === 1 && j.runs[0].run_id < \"$BAD_RUN\"")" = true ] && ok "--before: the older run" || bad "--before: $(cat "$T/out")"
expect "runs show" 0 "$LH" runs show "$GOOD_RUN"
has "runs show: dataset" "$T/out" "^dataset  *cli_orders"
has "runs show: state" "$T/out" "^state  *succeeded"
has "runs show: times in the zone too" "$T/out" "^started  *20[0-9-]*T[0-9:]*Z ([0-9 :-]*+0[12]:00 Europe/Berlin)"
expect "runs log" 0 "$LH" runs log "$GOOD_RUN"
expect "runs log --json" 0 "$LH" runs log "$GOOD_RUN" --json
[ "$(jget "$T/out" j.complete)" = true ] && ok "runs log --json: complete" || bad "runs log --json: $(cat "$T/out")"
expect "runs log (text)" 0 "$LH" runs log "$GOOD_RUN"
has "an inline run keeps a log" "$T/out" "outcome: success: rows=500"
expect "runs show unknown" 1 "$LH" runs show 20200101T000000.000000Z-0001
expect "runs cancel without a daemon: exit 1" 1 "$LH" runs cancel "$GOOD_RUN"
has "cancel: no daemon runs" "$T/err" "no daemon is running"
expect "schedule cancel without a daemon: exit 1" 1 "$LH" schedule cancel good
has "schedule cancel: no daemon runs" "$T/err" "nothing runs to cancel"

# output for people, piped (the message of a failed connect is ~200 bytes)
"$LH" schedule list | cat >"$T/list"
has "list: the dataset column" "$T/list" "^ID  *KIND  *DATASET  *TRIGGER"
has "list: good's dataset" "$T/list" "^good  *postgres:cli_orders  *cli_orders "
has "list: the message is not cut when piped" "$T/list" "accepting TCP/IP connections"
has "list: next run in the zone too" "$T/list" "T01:00:00Z (02:00:00+01:00 Europe/Berlin)\|T00:00:00Z (02:00:00+02:00 Europe/Berlin)"
"$LH" schedule runs bad | cat >"$T/runs"
has "schedule runs: not cut when piped" "$T/runs" "accepting TCP/IP connections"
"$LH" runs show "$BAD_RUN" | cat >"$T/show"
has "runs show: the whole message" "$T/show" "accepting TCP/IP connections"
expect "show bad" 0 "$LH" schedule show bad
n=$(grep -o "Connection refused" "$T/out" | wc -l)
[ "$n" = 1 ] && ok "show: the last outcome once" || bad "show: the outcome $n times: $(cat "$T/out")"
has "show: the whole outcome" "$T/out" "accepting TCP/IP connections"
has "show: counters say what they count" "$T/out" "^runs  *2 (0 succeeded, 2 failed"
expect "show good" 0 "$LH" schedule show good
has "show: next run in UTC and the zone" "$T/out" "^next run  *20[0-9-]*T[0-9:]*Z (02:00:00+0[12]:00 Europe/Berlin)"
has "show: last outcome in the zone" "$T/out" "^last outcome  *ok at .*Europe/Berlin"
expect "pause good" 0 "$LH" schedule pause good
expect "show paused" 0 "$LH" schedule show good
has "paused: no next run" "$T/out" "^next run  *none (paused)"
"$LH" schedule list | cat >"$T/list"
has "paused: list shows no next run" "$T/list" "^good .* no  *-  "
expect "resume good" 0 "$LH" schedule resume good

# Ctrl-C stops an inline run: nothing published, recorded as cancelled
"$LH" schedule run slow --wait >"$T/out" 2>"$T/err" &
pid=$!
# the run reads (its connection runs the slow view's query): the CLI has
# its signal handling in place long before that
slow_reading() {
    [ "$("${PSQL[@]}" -At -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'lakehouse' AND query LIKE '%cli_slow%' AND pid <> pg_backend_pid()")" -ge 1 ]
}
until_ok "inline run: reading the slow view" 120 slow_reading
kill -TERM $pid
wait $pid
rc=$?
[ "$rc" = 1 ] && ok "inline run interrupted: exit 1" || bad "inline interrupted rc=$rc: $(cat "$T/err")"
has "inline run interrupted says cancelled" "$T/err" "cancelled"
expect "the interrupted run is recorded" 0 "$LH" runs --schedule slow --json
[ "$(jget "$T/out" 'j.runs[0].state')" = cancelled ] && ok "recorded cancelled" || bad "recorded: $(cat "$T/out")"
expect "slow published nothing" 1 "$LH" datasets cli_slow

# ------------------------------------------------------------ with a daemon
# found through the store's _daemon.json (no --server, no $LAKEHOUSE_SERVER)
"$LH" serve --listen 127.0.0.1:0 --data "$LAKEHOUSE_DATA" >"$T/serve.out" 2>"$T/serve.log" &
SERVE_PID=$!
until_ok "daemon: listening" 120 grep -q "listening on" "$T/serve.out"
URL=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$T/serve.out" | head -n 1)
[ -n "$URL" ] && ok "daemon at $URL" || { bad "no daemon: $(cat "$T/serve.log")"; exit 1; }

expect "daemon: run without --wait" 0 "$LH" schedule run good
has "daemon: run prints the run id" "$T/out" "^started run [0-9T.Z-]* of schedule good in the daemon at $URL"
has "daemon: run says how to follow it" "$T/out" "lakehouse runs show .*GET $URL/api/runs/"
RID=$(sed -n 's/^started run \([^ ]*\) .*/\1/p' "$T/out")
done_run() { "$LH" runs show "$RID" --json >"$T/poll" 2>/dev/null && grep -q '"state": "succeeded"' "$T/poll"; }
until_ok "daemon: the run id polls to succeeded" 120 done_run
expect "daemon: run --wait good: exit 0" 0 "$LH" schedule run good --wait
has "daemon: --wait prints the outcome" "$T/out" "succeeded: rows=500 dataset=cli_orders"
expect "daemon: run --wait --json good" 0 "$LH" schedule run good --wait --json
[ "$(jget "$T/out" j.state)" = succeeded ] && ok "daemon: --json state" || bad "daemon --json: $(cat "$T/out")"
expect "daemon: run --wait bad: exit 1" 1 "$LH" schedule run bad --wait
has "daemon: --wait bad says failed" "$T/err" "failed after .*Connection refused"
expect "daemon: run --json without --wait" 0 "$LH" schedule run bad --json
[ -n "$(jget "$T/out" j.run_id)" ] && ok "daemon: run --json has run_id" || bad "daemon run --json: $(cat "$T/out")"
expect "daemon: runs" 0 "$LH" runs --schedule good --json
[ "$(jget "$T/out" 'j.runs.length >= 5')" = true ] && ok "daemon: runs lists the history" || bad "daemon runs: $(cat "$T/out")"
expect "daemon: runs log" 0 "$LH" runs log "$RID"
has "daemon: runs log has the outcome" "$T/out" "outcome"
expect "daemon: cancel a finished run: exit 1" 1 "$LH" runs cancel "$RID"
has "daemon: already finished" "$T/err" "already finished"
expect "daemon: cancel an idle schedule: exit 1" 1 "$LH" schedule cancel good

# a slow run: watched, then cancelled with `runs cancel`
expect "daemon: run slow" 0 "$LH" schedule run slow
SLOW=$(sed -n 's/^started run \([^ ]*\) .*/\1/p' "$T/out")
reading() { "$LH" runs --state running --json >"$T/poll" 2>/dev/null && grep -q "\"run_id\": \"$SLOW\"" "$T/poll"; }
until_ok "daemon: runs --state running lists the slow run" 120 reading
until_ok "daemon: the slow run reads rows" 120 sh -c "'$LH' runs show '$SLOW' --json | grep -q '\"phase\": \"reading\"'"
expect "daemon: schedule show" 0 "$LH" schedule show slow
has "daemon: show has the active run" "$T/out" "^running  *run $SLOW, reading: [0-9]* "
has "daemon: show has the rate" "$T/out" "rows/s"
expect "daemon: show --json has the active run" 0 "$LH" schedule show slow --json
[ "$(jget "$T/out" j.active_run.run_id)" = "$SLOW" ] && ok "daemon: active_run in --json" || bad "active_run: $(head -c 600 "$T/out")"
expect "daemon: runs (text) shows progress" 0 "$LH" runs
has "daemon: runs shows the running run" "$T/out" "$SLOW  *slow  *running .*reading: "
expect "daemon: schedule runs slow" 0 "$LH" schedule runs slow
has "daemon: schedule runs shows the active run first" "$T/out" "^$SLOW  *slow  *running .*reading: [0-9]* rows, [0-9]* rows/s"
expect "daemon: runs cancel" 0 "$LH" runs cancel "$SLOW"
has "daemon: cancel requested" "$T/out" "cancel requested: run $SLOW of schedule slow"
cancelled() { "$LH" runs show "$SLOW" --json >"$T/poll" 2>/dev/null && grep -q '"state": "cancelled"' "$T/poll"; }
until_ok "daemon: the run is cancelled" 120 cancelled

# --wait, and `schedule cancel` from elsewhere: the waiting ends with exit 1
"$LH" schedule run slow --wait >"$T/w.out" 2>"$T/w.err" &
WPID=$!
active() { "$LH" schedule show slow --json >"$T/poll" 2>/dev/null && grep -q '"active_run": {' "$T/poll"; }
until_ok "daemon: --wait run is active" 120 active || echo "  the --wait run said: $(cat "$T/w.out" "$T/w.err")"
expect "daemon: schedule cancel" 0 "$LH" schedule cancel slow
wait $WPID
rc=$?
[ "$rc" = 1 ] && ok "daemon: --wait of a cancelled run exits 1" || bad "--wait cancelled rc=$rc: $(cat "$T/w.out" "$T/w.err")"
has "daemon: --wait says cancelled" "$T/w.err" "cancelled after"

# Ctrl-C while waiting stops the waiting, not the run
"$LH" schedule run slow --wait >"$T/w.out" 2>"$T/w.err" &
WPID=$!
until_ok "daemon: waited run is active" 120 active || echo "  the --wait run said: $(cat "$T/w.out" "$T/w.err")"
WRID=$(jget "$T/poll" j.active_run.run_id)
kill -TERM $WPID
wait $WPID
rc=$?
[ "$rc" = 130 ] && ok "daemon: interrupted wait exits 130" || bad "interrupted wait rc=$rc: $(cat "$T/w.err")"
has "daemon: interrupted wait says the run goes on" "$T/w.err" "goes on in the daemon"
expect "daemon: the run goes on" 0 "$LH" runs show "$WRID" --json
[ "$(jget "$T/out" j.state)" = running ] && ok "daemon: still running after the interrupt" || bad "after interrupt: $(cat "$T/out")"
expect "daemon: cancel it" 0 "$LH" runs cancel "$WRID"
until_ok "daemon: no active run" 120 sh -c "! '$LH' schedule show slow --json | grep -q '\"active_run\": {'"

# ... unless asked: --cancel-on-interrupt
"$LH" schedule run slow --wait --cancel-on-interrupt >"$T/w.out" 2>"$T/w.err" &
WPID=$!
until_ok "daemon: the third run is active" 120 active || echo "  the --wait run said: $(cat "$T/w.out" "$T/w.err")"
WRID=$(jget "$T/poll" j.active_run.run_id)
kill -TERM $WPID
wait $WPID
rc=$?
[ "$rc" = 1 ] && ok "daemon: --cancel-on-interrupt exits 1" || bad "--cancel-on-interrupt rc=$rc: $(cat "$T/w.err")"
expect "daemon: the interrupted run was cancelled" 0 "$LH" runs show "$WRID" --json
[ "$(jget "$T/out" j.state)" = cancelled ] && ok "daemon: cancelled on interrupt" || bad "after --cancel-on-interrupt: $(cat "$T/out")"
expect "slow never published" 1 "$LH" datasets cli_slow

[ "$fails" = 0 ] || { echo "$fails failed"; exit 1; }
