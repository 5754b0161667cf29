#!/bin/sh
# The command line's contract (docs/cli.md), command by command, on the real
# binary: -V/--version; `COMMAND SUB --help` describes SUB only; every usage
# error (unknown flag, missing value, bad enum value, extra argument) exits 2
# with one line on stderr; --json prints JSON (checked with node's
# JSON.parse) or is refused with exit 2 and one line.
# usage: cli_usage.sh path/to/lakehouse
set -u
LH=$1
T=$(mktemp -d /tmp/lh-cli-usage-XXXXXX)
trap 'rm -rf "$T"' EXIT
export LAKEHOUSE_DATA="$T/data" LAKEHOUSE_SECRET_KEY_FILE="$T/secret.key"
unset LAKEHOUSE_SECRET_KEY LAKEHOUSE_SERVER LAKEHOUSE_CONFIG LAKEHOUSE_STORE
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
run() { "$@" >"$T/out" 2>"$T/err"; }
# usage NAME args...: exit 2, exactly one line on stderr, nothing on stdout
usage() {
    name=$1
    shift
    run "$LH" "$@"
    rc=$?
    if [ "$rc" = 2 ] && [ "$(wc -l <"$T/err")" = 1 ] && [ ! -s "$T/out" ]; then
        ok "usage: $name"
    else
        bad "usage: $name (rc=$rc): $(cat "$T/out" "$T/err")"
    fi
}
# json NAME args...: exit 0 and stdout parses as JSON
isjson() { node -e 'JSON.parse(require("fs").readFileSync(0, "utf8"))' <"$1" 2>/dev/null; }
json() {
    name=$1
    shift
    run "$LH" "$@"
    rc=$?
    if [ "$rc" = 0 ] && isjson "$T/out"; then ok "json: $name"; else
        bad "json: $name (rc=$rc): $(head -c 600 "$T/out") $(cat "$T/err")"; fi
}
has() { # name file pattern
    if grep -q -- "$3" "$2"; then ok "$1"; else bad "$1: no '$3' in $(head -c 800 "$2")"; fi
}
hasnt() {
    if grep -q -- "$3" "$2"; then bad "$1: '$3' found"; else ok "$1"; fi
}

# ---- version
for v in -V --version version; do
    run "$LH" $v
    if [ $? = 0 ] && grep -q '^lakehouse [0-9]' "$T/out"; then ok "version $v"; else
        bad "version $v: $(cat "$T/out" "$T/err")"; fi
done
json "version --json" version --json
usage "version extra" version extra

# ---- help: the subcommand's own text
run "$LH" schedule add --help
has "schedule add --help is add" "$T/out" "usage: lakehouse schedule add ID"
has "schedule add --help has the fields" "$T/out" "--cron 'EXPR'"
hasnt "schedule add --help is not rm" "$T/out" "schedule rm"
hasnt "schedule add --help is not run" "$T/out" "--wait"
run "$LH" schedule run --help
has "schedule run --help" "$T/out" "usage: lakehouse schedule run ID \[--wait"
has "schedule run --help: Ctrl-C" "$T/out" "Ctrl-C"
hasnt "schedule run --help has no fields" "$T/out" "--cursor-column"
for sub in list show update rm pause resume cancel runs; do
    run "$LH" schedule $sub --help
    if [ $? = 0 ] && grep -q "lakehouse schedule $sub" "$T/out"; then ok "schedule $sub --help"
    else bad "schedule $sub --help: $(head -3 "$T/out")"; fi
done
run "$LH" schedule --help
has "schedule --help lists cancel" "$T/out" "cancel ID"
for sub in show log cancel; do
    run "$LH" runs $sub --help
    if [ $? = 0 ] && grep -q "usage: lakehouse runs $sub RUN_ID" "$T/out" &&
        ! grep -q "runs list\|runs \[list\]" "$T/out"; then ok "runs $sub --help"
    else bad "runs $sub --help: $(cat "$T/out")"; fi
done
run "$LH" runs list --help
has "runs list --help" "$T/out" "--state S"
run "$LH" --help
has "top help names runs" "$T/out" "  runs "
for c in cron datasets ingest parquet serve sql; do
    run "$LH" $c --help
    if [ $? = 0 ] && grep -q "usage: lakehouse $c" "$T/out"; then ok "$c --help"; else
        bad "$c --help"; fi
done

# ---- usage errors: exit 2, one line (issue 14: --codec gzip exited 1)
"$LH" schedule list >/dev/null 2>&1 # (the store's first use makes its key: one log line)
"$LH" schedule add setup --postgres --dsn 'postgres://h/d' --table t --every 1h >/dev/null 2>&1
usage "ingest bad codec" ingest postgres --dsn 'postgres://u@127.0.0.1:1/d' --table t --codec gzip
usage "ingest bad mode" ingest postgres --dsn 'postgres://u@127.0.0.1:1/d' --table t --mode merge
usage "ingest unknown flag" ingest postgres --dsn x --table t --frob
usage "ingest missing value" ingest postgres --dsn x --table
usage "ingest extra arg" ingest postgres mysql --dsn x --table t
usage "ingest bad kind" ingest oracle --dsn x --table t
usage "ingest bad dataset name" ingest postgres --dsn 'postgres://u@127.0.0.1:1/d' --table t --dataset '../x'
usage "cron bad expr" cron next '61 * * * *'
usage "cron bad zone" cron next '0 0 * * *' --tz Mars/Base
usage "cron bad from" cron next '0 0 * * *' --from yesterday
usage "cron unknown flag" cron next '0 0 * * *' --frob
usage "cron missing value" cron next '0 0 * * *' --count
usage "cron extra" cron next '0 0 * * *' '1 1 * * *'
usage "datasets unknown flag" datasets --frob
usage "datasets missing value" datasets --data
usage "datasets extra" datasets a b
usage "parquet cat no file" parquet cat
usage "parquet cat missing value" parquet cat f.parquet --limit
usage "parquet cat bad format" parquet cat f.parquet --format xml
usage "parquet inspect no file" parquet inspect
usage "parquet inspect unknown flag" parquet inspect f --frob
usage "parquet bad sub" parquet frob
usage "serve unknown flag" serve --frob
usage "serve missing value" serve --listen
usage "serve bad log format" serve --log-format xml
usage "serve bad listen" serve --listen nonsense --data "$T/never"
usage "serve bad port" serve --listen 127.0.0.1:99999 --data "$T/never"
usage "serve --json" serve --json
[ -e "$T/never" ] && bad "serve made a data directory before it found the usage error" || ok "serve: nothing made on bad usage"
usage "sql unknown flag" sql --frob
usage "sql missing value" sql --format
usage "sql bad format" sql --format xml 'SELECT 1'
usage "sql extra" sql 'SELECT 1' 'SELECT 2'
usage "schedule unknown command" schedule frob
usage "schedule add unknown flag" schedule add x --postgres --frob
usage "schedule add missing value" schedule add x --postgres --dsn
usage "schedule add bad mode" schedule add x --postgres --dsn 'postgres://h/d' --table t --every 1h --mode merge
usage "schedule add bad anchor" schedule add x --postgres --dsn 'postgres://h/d' --table t --every 1h --anchor late
usage "schedule add bad cron" schedule add x --postgres --dsn 'postgres://h/d' --table t --cron '61 * * * *'
usage "schedule add bad zone" schedule add x --postgres --dsn 'postgres://h/d' --table t --cron '0 2 * * *' --tz Mars/Base
usage "schedule add extra" schedule add x y --postgres --dsn 'postgres://h/d' --table t --every 1h
usage "schedule list extra" schedule list x
usage "schedule list field flag" schedule list --dsn x
usage "schedule show --wait" schedule show x --wait
usage "schedule run --reason" schedule run x --reason r
usage "schedule run --cancel-on-interrupt alone" schedule run x --cancel-on-interrupt
usage "schedule show no id" schedule show
usage "schedule runs no id" schedule runs
usage "schedule runs id and --all" schedule runs x --all
usage "schedule runs bad state" schedule runs x --state done
usage "schedule cancel no id" schedule cancel
usage "schedule cancel extra" schedule cancel a b
usage "runs bad sub" runs frob
usage "runs bad state" runs --state done
usage "runs bad limit" runs --limit 0
usage "runs missing value" runs --limit
usage "runs unknown flag" runs --frob
usage "runs show no id" runs show
usage "runs show bad id" runs show ../../etc/passwd
usage "runs show --state" runs show 20261207T170102.123456Z-0001 --state failed
usage "runs log extra" runs log a b
usage "runs cancel no id" runs cancel
usage "top unknown command" frob

# ---- --json everywhere a result is printed
json "cron next --json" cron next '0 2 * * *' --count 3 --json
json "schedule add --json" schedule add j1 --json --postgres --dsn 'postgres://u:pw@127.0.0.1:1/d' \
    --table t --cron '0 2 * * *' --tz Europe/Berlin
has "add --json is the schedule" "$T/out" '"id": "j1"'
hasnt "add --json shows no password" "$T/out" "pw@"
json "schedule list --json" schedule list --json
json "schedule show --json" schedule show j1 --json
has "show --json has active_run" "$T/out" '"active_run": null'
json "schedule update --json" schedule update j1 --description hello --json
has "update --json is the new schedule" "$T/out" '"description": "hello"'
json "schedule pause --json" schedule pause j1 --json
has "pause --json" "$T/out" '"enabled": false'
json "schedule resume --json" schedule resume j1 --json
run "$LH" schedule run j1 --json
if [ $? = 1 ] && isjson "$T/out" && grep -q '"state": "failed"' "$T/out"; then
    ok "schedule run --json (failed run: exit 1, the run JSON)"
else bad "schedule run --json: $(cat "$T/out" "$T/err")"; fi
json "schedule runs --json" schedule runs j1 --json
json "runs --json" runs --json
has "runs --json has the run" "$T/out" '"schedule_id": "j1"'
RID=$(sed -n 's/.*"run_id": "\([^"]*\)".*/\1/p' "$T/out" | head -n 1)
json "runs show --json" runs show "$RID" --json
json "runs log --json" runs log "$RID" --json
json "datasets --json" datasets --json
json "schedule rm --json" schedule rm j1 --json
has "rm --json" "$T/out" '"removed": "j1"'

[ "$fails" = 0 ] || { echo "$fails failed"; exit 1; }
