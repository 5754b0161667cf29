#!/bin/sh
# `lakehouse cron next`: output, exit codes and one-line errors (a bad
# expression, zone or time is bad usage: exit 2).
# usage: cli_cron.sh path/to/lakehouse
set -u
LH=$1
fails=0
check() { # name expected-exit expected-stdout expected-stderr -- args...
    name=$1 want_rc=$2 want_out=$3 want_err=$4
    shift 5
    out=$("$LH" "$@" 2>/tmp/cli_cron_err.$$)
    rc=$?
    err=$(cat /tmp/cli_cron_err.$$)
    if [ "$rc" != "$want_rc" ] || [ "$out" != "$want_out" ] || [ "$err" != "$want_err" ]; then
        echo "FAIL $name: rc=$rc out=[$out] err=[$err]"
        fails=$((fails + 1))
    else
        echo "ok   $name"
    fi
}
NL='
'
check spring 0 "2026-03-08T07:00:00Z${NL}2026-03-09T06:30:00Z" "" -- \
    cron next '30 2 * * *' --tz America/New_York --from 2026-03-07T12:00:00Z --count 2
check fallback-wild 0 "2026-11-01T05:00:00Z${NL}2026-11-01T06:00:00Z${NL}2026-11-01T07:00:00Z" "" -- \
    cron next '0 * * * *' --tz=America/New_York --from=2026-11-01T04:30:00Z --count=3
check offset-from 0 "2026-11-01T06:30:00Z" "" -- \
    cron next '30 * * * *' --tz America/New_York --from 2026-11-01T01:00:00-05:00 --count 1
check default-count 0 "2027-01-01T00:00:00Z${NL}2028-01-01T00:00:00Z${NL}2029-01-01T00:00:00Z${NL}2030-01-01T00:00:00Z${NL}2031-01-01T00:00:00Z" "" -- \
    cron next @yearly --from 2026-06-01T00:00:00Z
check bad-field 2 "" "lakehouse: cron: day-of-month: 32 out of range 1-31" -- \
    cron next '0 0 32 * *'
check impossible 2 "" "lakehouse: cron: day-of-month: '30' never occurs in month '2'" -- \
    cron next '0 0 30 2 *'
check bad-zone 2 "" "lakehouse: cron: --tz: unknown time zone 'Mars/Base'" -- \
    cron next '0 0 * * *' --tz Mars/Base
check traversal 2 "" "lakehouse: cron: --tz: invalid time zone name '../../etc/passwd'" -- \
    cron next '0 0 * * *' --tz ../../etc/passwd
check bad-count 2 "" "lakehouse: cron: --count: 'x' is not a number from 1 to 10000" -- \
    cron next '0 0 * * *' --count x
check no-expr 2 "" "lakehouse: cron: missing expression (see 'lakehouse cron --help')" -- \
    cron next
check bad-sub 2 "" "lakehouse: cron: unknown subcommand 'prev' (see 'lakehouse cron --help')" -- \
    cron prev '* * * * *'
check unquoted 2 "" "lakehouse: cron: one expression expected, got '*' too (quote it)" -- \
    cron next 0 '*' --from 2026-01-01T00:00:00Z
check search-bound 1 "" "lakehouse: cron: no fire time within 5 years" -- \
    cron next '0 0 29 2 */7' --from 2026-01-01T00:00:00Z
help=$("$LH" cron --help) && case $help in *"usage: lakehouse cron next"*) echo "ok   help" ;;
    *) echo "FAIL help"; fails=$((fails + 1)) ;; esac
# no --from: the answers are after now
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
first=$("$LH" cron next '* * * * *' --count 1)
if [ "$first" \> "$now" ]; then echo "ok   default-from"; else echo "FAIL default-from $first <= $now"; fails=$((fails + 1)); fi
rm -f /tmp/cli_cron_err.$$
[ "$fails" -eq 0 ]
