#!/bin/bash
# Schedules as code (issue 15, docs/cli.md "apply"): `lakehouse export` then
# `lakehouse apply -f` on the real binary, first on the store directly, then
# through a daemon (found by the store's _daemon.json, and by --server with
# no store at all). Asserts: the export -> apply round trip is a no-op (the
# schedule files are byte for byte the same); a plan without --yes changes
# nothing; --yes creates, updates and (with --prune) deletes as planned; the
# same file twice changes nothing the second time; a bad file is one line
# naming the field, exit 2, nothing changed; no password is ever printed or
# stored in plain text. No database is needed: nothing runs.
# usage: cli_apply.sh path/to/lakehouse
set -u
LH=$1
T=$(mktemp -d /tmp/lh-cli-apply-XXXXXX)
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
run() { "$@" >"$T/out" 2>"$T/err"; }
# expect NAME RC cmd...: the exit code
expect() {
    name=$1 want=$2
    shift 2
    run "$@"
    rc=$?
    if [ "$rc" = "$want" ]; then ok "$name"; else
        bad "$name: rc=$rc want $want: $(head -c 1500 "$T/out") $(cat "$T/err")"; fi
}
has() { if grep -q -- "$3" "$2"; then ok "$1"; else bad "$1: no '$3' in $(head -c 1500 "$2")"; fi; }
hasnt() { if grep -q -- "$3" "$2"; then bad "$1: '$3' found in $(head -c 800 "$2")"; else ok "$1"; fi; }
# edit FILE_IN FILE_OUT 'js statements on d': a changed copy of an export
edit() { node -e 'const fs=require("fs"); const d=JSON.parse(fs.readFileSync(process.argv[1],"utf8"));
'"$3"'; fs.writeFileSync(process.argv[2], JSON.stringify(d, null, 2));' "$1" "$2"; }
jget() { node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); console.log('"$2"')' "$1"; }
# the schedule files, with their bytes: what "nothing changed" compares
snap() { (cd "$LAKEHOUSE_DATA" && find . -path '*_schedules*' -type f | sort | xargs -r sha256sum); }
secrets() { # no password in FILE
    for s in hunter2pw s3cr3t-new s3cr3t-changed; do hasnt "$1: no password $s" "$2" "$s"; done
}

# ------------------------------------------------------------ usage
expect "apply without -f: exit 2" 2 "$LH" apply
[ "$(wc -l <"$T/err")" = 1 ] && ok "apply without -f: one line" || bad "lines: $(cat "$T/err")"
expect "apply --bogus: exit 2" 2 "$LH" apply -f x.json --bogus
expect "export -f: exit 2" 2 "$LH" export -f x.json
expect "export extra argument: exit 2" 2 "$LH" export extra
expect "apply --help" 0 "$LH" apply --help
has "apply --help names --prune" "$T/out" "--prune"
expect "export --help" 0 "$LH" export --help
has "export --help says ***" "$T/out" "'\*\*\*'"
expect "lakehouse --help lists apply" 0 "$LH" --help
has "help lists apply" "$T/out" "^  apply "
has "help lists export" "$T/out" "^  export "
expect "apply a missing file: exit 2" 2 "$LH" apply -f "$T/none.json"

# ------------------------------------------------------------ the store, no daemon
expect "add sealed" 0 "$LH" schedule add orders --postgres \
    --dsn 'postgres://etl:hunter2pw@127.0.0.1:1/shop' --table public.orders --cron '0 3 1 1 *'
expect "add password_env" 0 "$LH" schedule add customers --mysql \
    --dsn 'mysql://etl@127.0.0.1:1/shop' --password-env SHOP_PW --table customers \
    --every 1h --disabled --description 'the customers'
expect "add third" 0 "$LH" schedule add legacy --postgres --dsn 'postgres://etl@127.0.0.1:1/old' \
    --table t --cron '0 4 * * 1' --tz Europe/Berlin

expect "export" 0 "$LH" export
cp "$T/out" "$T/export.json"
secrets export "$T/export.json"
[ "$(jget "$T/export.json" 'j.schedules.map(s => s.id).join(",")')" = "customers,legacy,orders" ] &&
    ok "export: every schedule, by id" || bad "export ids: $(cat "$T/export.json")"
[ "$(jget "$T/export.json" 'j.schedules[2].kind.dsn')" = 'postgres://etl:***@127.0.0.1:1/shop' ] &&
    ok "export: a sealed password is ***" || bad "export dsn: $(cat "$T/export.json")"
[ "$(jget "$T/export.json" 'j.schedules[0].kind.password_env')" = SHOP_PW ] &&
    ok "export: password_env kept" || bad "export password_env"
[ "$(jget "$T/export.json" '["created_at","next_run_at","run_count","last_outcome","created_by"].filter(k => k in j.schedules[0]).length + ("dsn_secret" in j.schedules[0].kind)')" = 0 ] &&
    ok "export: no run state, no ciphertext" || bad "export has state: $(cat "$T/export.json")"
expect "export --json" 0 "$LH" export --json
cmp -s "$T/out" "$T/export.json" && ok "export --json is the same" || bad "export --json differs"

# round trip: nothing to do, nothing written
snap >"$T/snap0"
expect "round trip: apply the export" 0 "$LH" apply -f "$T/export.json"
has "round trip: no changes" "$T/out" "Plan: 0 to create, 0 to update, 0 to delete, 3 unchanged"
expect "round trip: apply --yes --prune" 0 "$LH" apply -f "$T/export.json" --yes --prune
has "round trip --yes: no changes" "$T/out" "0 to create, 0 to update, 0 to delete"
snap >"$T/snap1"
cmp -s "$T/snap0" "$T/snap1" && ok "round trip: schedule files untouched" || bad "files changed"

# a changed file: update orders, create events (plaintext password), drop legacy
edit "$T/export.json" "$T/v2.json" '
d.schedules = d.schedules.filter(s => s.id !== "legacy");
const o = d.schedules.find(s => s.id === "orders");
o.kind.table = "public.orders_v2"; o.trigger.expr = "30 3 * * *"; o.description = "v2";
d.schedules.push({id: "events", kind: {type: "postgres",
  dsn: "postgres://etl:s3cr3t-new@127.0.0.1:1/shop", table: "events"},
  trigger: {type: "cron", expr: "0 5 * * *"}});'
expect "plan v2" 0 "$LH" apply -f "$T/v2.json"
cp "$T/out" "$T/plan2"
has "plan: update orders" "$T/plan2" "^~ update orders"
has "plan: the changed table" "$T/plan2" 'kind.table: "public.orders" -> "public.orders_v2"'
has "plan: the changed cron" "$T/plan2" 'trigger.expr: "0 3 1 1 \*" -> "30 3 \* \* \*"'
has "plan: create events" "$T/plan2" "^+ create events"
has "plan: legacy kept without --prune" "$T/plan2" "keep legacy (not in the file; --prune deletes it)"
has "plan: counts" "$T/plan2" "Plan: 1 to create, 1 to update, 0 to delete, 1 unchanged"
has "plan: says --yes" "$T/plan2" "run again with --yes"
hasnt "plan: customers unchanged is not listed" "$T/plan2" "customers"
secrets plan "$T/plan2"
snap >"$T/snap2"
cmp -s "$T/snap0" "$T/snap2" && ok "plan without --yes: nothing changed" || bad "plan changed files"

expect "plan v2 --prune --json" 0 "$LH" apply -f "$T/v2.json" --prune --json
[ "$(jget "$T/out" '[j.create, j.update.map(u => u.id), j.delete, j.unchanged, j.applied].join("|")')" = "events|orders|legacy|customers|false" ] &&
    ok "plan --json" || bad "plan --json: $(cat "$T/out")"

expect "apply v2 --yes --prune" 0 "$LH" apply -f "$T/v2.json" --yes --prune
has "apply v2: applied" "$T/out" "Applied: 1 created, 1 updated, 1 deleted"
secrets "apply v2 output" "$T/out"
expect "list after v2" 0 "$LH" schedule list --json
[ "$(jget "$T/out" 'j.map(s => s.id + ":" + s.kind.table).join(",")')" = "customers:customers,events:events,orders:public.orders_v2" ] &&
    ok "v2: schedules as the file says" || bad "after v2: $(cat "$T/out")"
[ "$(jget "$T/out" 'j.find(s => s.id === "orders").trigger.expr')" = "30 3 * * *" ] &&
    ok "v2: cron updated" || bad "v2 cron"
grep -rq "s3cr3t-new" "$LAKEHOUSE_DATA" && bad "a plaintext password is in the store" ||
    ok "the new password is sealed in the store"
[ "$(jget "$T/out" 'j.find(s => s.id === "orders").kind.dsn')" = 'postgres://etl:***@127.0.0.1:1/shop' ] &&
    ok "v2: orders kept its sealed password" || bad "v2 orders dsn"

snap >"$T/snap3"
expect "v2 again" 0 "$LH" apply -f "$T/v2.json" --yes --prune
has "v2 again: no changes (plaintext password compared sealed)" "$T/out" \
    "Plan: 0 to create, 0 to update, 0 to delete, 3 unchanged"
snap >"$T/snap4"
cmp -s "$T/snap3" "$T/snap4" && ok "v2 again: nothing written" || bad "v2 again wrote"

# another password is an update that names the field, never the value
edit "$T/v2.json" "$T/v3.json" 'd.schedules.find(s => s.id === "events").kind.dsn =
  "postgres://etl:s3cr3t-changed@127.0.0.1:1/shop";'
expect "plan v3" 0 "$LH" apply -f "$T/v3.json"
has "v3: the password changes" "$T/out" "kind.dsn: (password) -> (another password)"
secrets "plan v3" "$T/out"

# bad files: one line naming the field, exit 2, nothing changed
snap >"$T/snapb"
badfile() { # name 'js edit' field
    edit "$T/v2.json" "$T/bad.json" "$2"
    expect "bad file: $1: exit 2" 2 "$LH" apply -f "$T/bad.json" --yes --prune
    [ "$(wc -l <"$T/err")" = 1 ] && [ ! -s "$T/out" ] && ok "bad file: $1: one line" ||
        bad "bad file: $1: $(cat "$T/out" "$T/err")"
    has "bad file: $1: names $3" "$T/err" "$3"
    secrets "bad file: $1" "$T/err"
}
badfile "unknown field" 'd.schedules[0].kind.tabel = "x"' "schedules\[0\] (customers): kind.tabel: unknown field"
badfile "bad cron" 'd.schedules[1].trigger.expr = "61 * * * *"' "trigger.expr: cron: minute: 61"
badfile "missing id" 'delete d.schedules[1].id' "schedules\[1\]: id: missing"
badfile "unknown top-level field" 'd.schedule = []' "schedule: unknown field (want schedules)"
badfile "duplicate id" 'd.schedules.push(d.schedules[0])' "id: given twice"
badfile "*** for a new schedule" 'd.schedules.push({id: "n1", kind: {type: "postgres",
  dsn: "postgres://u:***@127.0.0.1:1/x", table: "t"}, trigger: {type: "interval", secs: 60}})' \
    "(n1): kind.dsn: the password is '\*\*\*'"
badfile "bad id" 'd.schedules.push({id: "no spaces", kind: {type: "postgres",
  dsn: "postgres://u@127.0.0.1:1/x", table: "t"}, trigger: {type: "interval", secs: 60}})' "id: "
printf '{"schedules": [' >"$T/bad.json"
expect "bad JSON: exit 2" 2 "$LH" apply -f "$T/bad.json" --yes
has "bad JSON: says where" "$T/err" "line 1 column"
snap >"$T/snapb2"
cmp -s "$T/snapb" "$T/snapb2" && ok "bad files: nothing changed" || bad "a bad file changed the store"

# ------------------------------------------------------------ through a daemon
"$LH" serve --listen 127.0.0.1:0 --data "$LAKEHOUSE_DATA" >"$T/serve.out" 2>"$T/serve.log" &
SERVE_PID=$!
for _ in $(seq 1 100); do
    grep -q "listening on" "$T/serve.out" && break
    sleep 0.1
done
URL=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$T/serve.out" | head -n 1)
[ -n "$URL" ] && ok "daemon at $URL" || { bad "no daemon: $(cat "$T/serve.log")"; exit 1; }

expect "daemon: export" 0 "$LH" export
cp "$T/out" "$T/export2.json"
secrets "daemon export" "$T/export2.json"
expect "daemon: apply the export" 0 "$LH" apply -f "$T/export2.json" --yes --prune
has "daemon: round trip no-op" "$T/out" "Plan: 0 to create, 0 to update, 0 to delete, 3 unchanged"
# back to the first export: legacy again, orders as it was, events gone
expect "daemon: apply the first export" 0 "$LH" apply -f "$T/export.json" --yes --prune
has "daemon: applied" "$T/out" "Applied: 1 created, 1 updated, 1 deleted"
secrets "daemon apply output" "$T/out"
expect "daemon: apply it again" 0 "$LH" apply -f "$T/export.json" --yes --prune
has "daemon: second time no changes" "$T/out" "0 to create, 0 to update, 0 to delete"
# through the API only: --server and no store at all
expect "daemon: --server, no store: export" 0 env LAKEHOUSE_DATA="$T/nothing-here" \
    "$LH" export --server "$URL"
cp "$T/out" "$T/export3.json"
[ ! -e "$T/nothing-here" ] && ok "--server: no store touched" || bad "--server created a store"
[ "$(jget "$T/export3.json" 'j.schedules.map(s => s.id + ":" + s.kind.table + ":" + s.kind.dsn).join(",")')" = \
  'customers:customers:mysql://etl@127.0.0.1:1/shop,legacy:t:postgres://etl@127.0.0.1:1/old,orders:public.orders:postgres://etl:***@127.0.0.1:1/shop' ] &&
    ok "daemon: schedules as the first export says" || bad "daemon state: $(cat "$T/export3.json")"
expect "daemon: --server apply v2" 0 env LAKEHOUSE_DATA="$T/nothing-here" \
    "$LH" apply -f "$T/v2.json" --yes --prune --server "$URL"
has "daemon: v2 applied through the API" "$T/out" "Applied: 1 created, 1 updated, 1 deleted"
curl -s "$URL/api/schedules/events" >"$T/events.json"
[ "$(jget "$T/events.json" 'j.kind.dsn')" = 'postgres://etl:***@127.0.0.1:1/shop' ] &&
    ok "daemon: events created, password sealed" || bad "events: $(cat "$T/events.json")"
grep -rq "s3cr3t-new" "$LAKEHOUSE_DATA" && bad "daemon: a plaintext password is in the store" ||
    ok "daemon: no plaintext password in the store"
expect "daemon: v2 again (the store's _daemon.json)" 0 "$LH" apply -f "$T/v2.json" --yes --prune
has "daemon: v2 again: no changes (plaintext password compared sealed)" "$T/out" \
    "Plan: 0 to create, 0 to update, 0 to delete, 3 unchanged"
expect "daemon: v2 again with --server only" 0 env LAKEHOUSE_DATA="$T/nothing-here" \
    "$LH" apply -f "$T/v2.json" --server "$URL"
has "daemon: --server cannot compare a plaintext password: an update" "$T/out" \
    "kind.dsn: (password) -> (another password)"
secrets "daemon: --server plan" "$T/out"
secrets "daemon log" "$T/serve.log"

echo "$fails failed"
[ "$fails" = 0 ]
