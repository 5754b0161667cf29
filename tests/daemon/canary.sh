#!/bin/sh
# Issue 12 item 5: a canary password ("Zq7@canary-PW", with an unencoded '@')
# in postgres and mysql URLs and in a key=value DSN, sent every way a user
# can send it: POST /api/ingest, POST /api/schedules (runs that fail and are
# recorded), `lakehouse ingest`, `lakehouse schedule add`. No part of the
# password may show in any HTTP body, the daemon's log, the data directory
# (run records, schedule files, catalog) or the CLI's output. Nothing
# listens on 127.0.0.1:1, so every run fails at connect.
# usage: canary.sh path/to/lakehouse
set -u
LH=$1
T=$(mktemp -d /tmp/lh-canary-XXXXXX)
PID=
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
export LAKEHOUSE_SECRET_KEY_FILE="$T/secret.key"
unset LAKEHOUSE_SECRET_KEY LAKEHOUSE_DATA
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }

PG_RAW='postgresql://canary:Zq7@canary-PW@127.0.0.1:1/db'
PG_ENC='postgresql://canary:Zq7%40canary-PW@127.0.0.1:1/db'
MY_RAW='mysql://canary:Zq7@canary-PW@127.0.0.1:1/db'
MY_ENC='mysql://canary:Zq7%40canary-PW@127.0.0.1:1/db'
PG_KV='host=127.0.0.1 port=1 user=canary password=Zq7@canary-PW dbname=db'
PG_KV_SPACE='host=127.0.0.1 port=1 user=canary password=Zq7 canary-PW dbname=db'
PG_SLASH='postgresql://canary:Zq7/canary-PW@127.0.0.1:1/db'

# the password's pieces: the tail, the head next to what follows it
leaks() { # file-or-dir -> prints matching lines (the sealed dsn_secret is ciphertext)
    grep -r -a -n -e 'canary-PW' -e 'Zq7[@%/ ]' -e 'Zq7"' -e 'Zq7$' "$1" 2>/dev/null |
        grep -v '"dsn_secret"'
}
check_clean() { # name file-or-dir
    if out=$(leaks "$2") && [ -n "$out" ]; then
        bad "$1: the password shows: $out"
    else
        ok "$1"
    fi
}

mkdir -p "$T/data"
"$LH" serve --listen 127.0.0.1:0 --data "$T/data" >"$T/serve.out" 2>"$T/daemon.log" &
PID=$!
ADDR=
for _ in $(seq 1 100); do
    ADDR=$(sed -n 's/.*listening on http:\/\/\([^ ]*\).*/\1/p' "$T/serve.out" | head -n 1)
    [ -n "$ADDR" ] && break
    sleep 0.1
done
if [ -z "$ADDR" ]; then
    echo "FAIL daemon did not start: $(cat "$T/daemon.log")"
    exit 1
fi
ok "daemon listening on $ADDR"

api() { # method path body outfile -> prints the status
    curl -s -o "$4" -w '%{http_code}' -X "$1" -H 'Content-Type: application/json' \
        --data-binary "$3" "http://$ADDR$2"
}
n=0
for spec in "postgres|$PG_RAW|400" "postgres|$PG_SLASH|400" "postgres|$PG_KV|400" \
    "postgres|$PG_ENC|502" "mysql|$MY_RAW|502" "mysql|$MY_ENC|502"; do
    n=$((n + 1))
    kind=${spec%%|*}
    rest=${spec#*|}
    dsn=${rest%|*}
    want=${rest##*|}
    body="{\"type\":\"$kind\",\"dsn\":\"$dsn\",\"table\":\"t\",\"timeout_secs\":20}"
    st=$(api POST "/api/ingest?wait=true" "$body" "$T/ingest.$n")
    if [ "$st" = "$want" ]; then ok "ingest $n ($kind) answers $st"; else
        bad "ingest $n ($kind) answers $st, want $want: $(cat "$T/ingest.$n")"; fi
    check_clean "ingest $n body" "$T/ingest.$n"
done
if grep -q 'percent-encode' "$T/ingest.1"; then ok "the refusal says to percent-encode"; else
    bad "the refusal does not say what to do: $(cat "$T/ingest.1")"; fi

# schedules: refused, or accepted (sealed) and run at once (interval, due now)
n=0
for spec in "postgres|$PG_RAW|400" "postgres|$PG_SLASH|400" "postgres|$PG_ENC|201" \
    "mysql|$MY_RAW|201" "mysql|$MY_ENC|201"; do
    n=$((n + 1))
    kind=${spec%%|*}
    rest=${spec#*|}
    dsn=${rest%|*}
    want=${rest##*|}
    body="{\"id\":\"canary-$n\",\"kind\":{\"type\":\"$kind\",\"dsn\":\"$dsn\",\"table\":\"t\"},\
\"trigger\":{\"type\":\"interval\",\"secs\":3600},\"timeout_secs\":20}"
    st=$(api POST /api/schedules "$body" "$T/sched.$n")
    if [ "$st" = "$want" ]; then ok "schedule $n ($kind) answers $st"; else
        bad "schedule $n ($kind) answers $st, want $want: $(cat "$T/sched.$n")"; fi
    check_clean "schedule $n body" "$T/sched.$n"
done
# wait for the three accepted schedules' first (failed) runs to be recorded
for id in canary-3 canary-4 canary-5; do
    done_=
    for _ in $(seq 1 300); do
        if ls "$T/data/primary/_runs/$id/"*.json >/dev/null 2>&1 ||
            ls "$T/data/_runs/$id/"*.json >/dev/null 2>&1; then
            done_=1
            break
        fi
        sleep 0.2
    done
    if [ -n "$done_" ]; then ok "$id ran and was recorded"; else bad "$id has no run record"; fi
    api GET "/api/schedules/$id/runs" "" "$T/runs.$id" >/dev/null
    check_clean "$id runs body" "$T/runs.$id"
    api GET "/api/schedules/$id" "" "$T/get.$id" >/dev/null
    check_clean "$id body" "$T/get.$id"
done
api GET /api/schedules "" "$T/list" >/dev/null
check_clean "schedule list body" "$T/list"

# the CLI, on its own data directory
mkdir -p "$T/cli"
n=0
for spec in "postgres|$PG_RAW" "postgres|$PG_SLASH" "postgres|$PG_KV" "postgres|$PG_KV_SPACE" \
    "postgres|$PG_ENC" "mysql|$MY_RAW" "mysql|$MY_ENC"; do
    n=$((n + 1))
    kind=${spec%%|*}
    dsn=${spec#*|}
    "$LH" ingest "$kind" --dsn "$dsn" --table t --data "$T/cli" >"$T/cli.out.$n" 2>"$T/cli.err.$n"
    rc=$?
    if [ "$rc" != 0 ] && [ -s "$T/cli.err.$n" ]; then ok "cli ingest $n fails"; else
        bad "cli ingest $n: rc=$rc"; fi
    check_clean "cli ingest $n stderr" "$T/cli.err.$n"
    check_clean "cli ingest $n stdout" "$T/cli.out.$n"
done
n=0
for spec in "--postgres|$PG_RAW" "--postgres|$PG_ENC" "--mysql|$MY_RAW"; do
    n=$((n + 1))
    flag=${spec%%|*}
    dsn=${spec#*|}
    LAKEHOUSE_DATA="$T/cli" "$LH" schedule add "cli-$n" "$flag" --dsn "$dsn" --table t \
        --every 1h >"$T/cadd.out.$n" 2>"$T/cadd.err.$n"
    check_clean "cli schedule add $n output" "$T/cadd.out.$n"
    check_clean "cli schedule add $n stderr" "$T/cadd.err.$n"
done
LAKEHOUSE_DATA="$T/cli" "$LH" schedule run cli-2 >"$T/crun.out" 2>"$T/crun.err"
check_clean "cli schedule run output" "$T/crun.out"
check_clean "cli schedule run stderr" "$T/crun.err"

kill "$PID"
wait "$PID" 2>/dev/null
PID=
check_clean "daemon log" "$T/daemon.log"
check_clean "daemon data directory" "$T/data"
check_clean "cli data directory" "$T/cli"
if [ "$fails" = 0 ]; then echo "all clean"; else echo "$fails failed"; fi
[ "$fails" = 0 ]
