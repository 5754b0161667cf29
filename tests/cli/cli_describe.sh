#!/usr/bin/env bash
# Descriptions, tags and PII marks from the CLI (issue 15 "Descriptions and
# tags"), against a real PostgreSQL (tests/servers/pg.sh):
#   - `datasets describe NAME ...` on the store: description, tags, a column
#     unmarked (--pii none) and one marked (--pii pii), with no new version;
#   - `datasets NAME` shows them, overrides marked with '*';
#   - a later ingest (a column added) re-detects and keeps every mark and
#     description; `--pii auto` goes back to the name rule;
#   - through a running daemon (PATCH /api/datasets/NAME) the same, and a
#     400 from it is exit 2;
#   - every bad input: one line, exit 2; an unknown dataset: exit 1.
# usage: cli_describe.sh path/to/lakehouse path/to/pg/env
set -u
LH=$1
. "$2"
T=$(mktemp -d /tmp/lh-cli-describe-XXXXXX)
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
one_line() { [ "$(wc -l <"$T/err")" = 1 ] && ok "$1: one line" || bad "$1: stderr $(cat "$T/err")"; }
has() { if grep -q -- "$3" "$2"; then ok "$1"; else bad "$1: no '$3' in $(head -c 1500 "$2")"; fi; }
eq() { [ "$2" = "$3" ] && ok "$1" || bad "$1: '$2' != '$3'"; }
jget() {
    node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
             const col = n => j.columns.find(c => c.name === n);
             const v = eval(process.argv[2]); console.log(typeof v === "object" ? JSON.stringify(v) : String(v))' "$1" "$2"
}
usage_err() { # name cmd...: exit 2 and one line
    expect "$1" 2 "${@:2}"
    one_line "$1"
}

PSQL=(/usr/lib/postgresql/15/bin/psql -X -q -v ON_ERROR_STOP=1 "$PG_USER_DSN")
"${PSQL[@]}" <<'SQL' || { echo "FAIL cannot create the table"; exit 1; }
DROP TABLE IF EXISTS meta_c CASCADE;
CREATE TABLE meta_c (id int PRIMARY KEY, email text, city text);
INSERT INTO meta_c SELECT g, 'u' || g || '@x.org', 'c' || g FROM generate_series(1, 20) g;
SQL
ing() { "$LH" ingest postgres --dsn "$PG_USER_DSN" --table meta_c --dataset meta_c "$@" >/dev/null 2>"$T/ingerr" ||
        bad "ingest: $(cat "$T/ingerr")"; }
ing

# ---------------------------------------------------------------- on the store
expect "describe --help" 0 "$LH" datasets describe --help
has "describe --help names --pii" "$T/out" "--pii LEVEL"
expect "describe" 0 "$LH" datasets describe meta_c --description "Customers of the shop" \
    --tag gdpr --tag team:growth --column email --pii none --description "hashed before export" \
    --column city --pii pii
has "describe says no version was made" "$T/out" "described (still version 1)"
expect "show" 0 "$LH" datasets meta_c
has "show: description" "$T/out" "^description  Customers of the shop"
has "show: tags" "$T/out" "^tags         gdpr, team:growth"
has "show: email unmarked by hand" "$T/out" "email .* none\* .*hashed before export"
has "show: city marked by hand" "$T/out" "city .* \[PII\]\*"
has "show: the legend" "$T/out" "marked by hand"
expect "show --json" 0 "$LH" datasets meta_c --json
cp "$T/out" "$T/rec.json"
eq "no new version" "$(jget "$T/rec.json" j.current_version)" 1
eq "email: no level" "$(jget "$T/rec.json" 'col("email").sensitivity')" null
eq "email: detector still says pii" "$(jget "$T/rec.json" 'col("email").detected_sensitivity')" pii
expect "list" 0 "$LH" datasets
has "list: tags column" "$T/out" "gdpr,team:growth"

# ---------------------------------------------------------------- a later version keeps them
"${PSQL[@]}" -c "ALTER TABLE meta_c ADD COLUMN phone text"
ing
expect "show --json after a new version" 0 "$LH" datasets meta_c --json
cp "$T/out" "$T/rec.json"
eq "version 2" "$(jget "$T/rec.json" j.current_version)" 2
eq "v2: description kept" "$(jget "$T/rec.json" j.description)" "Customers of the shop"
eq "v2: tags kept" "$(jget "$T/rec.json" j.tags)" '["gdpr","team:growth"]'
eq "v2: email override kept" "$(jget "$T/rec.json" 'col("email").sensitivity_override')" true
eq "v2: email description kept" "$(jget "$T/rec.json" 'col("email").description')" "hashed before export"
eq "v2: city mark kept" "$(jget "$T/rec.json" 'col("city").sensitivity')" pii
eq "v2: phone detected" "$(jget "$T/rec.json" 'col("phone").sensitivity')" pii
expect "--pii auto" 0 "$LH" datasets describe meta_c --column email --pii auto --untag gdpr
expect "show --json after auto" 0 "$LH" datasets meta_c --json
cp "$T/out" "$T/rec.json"
eq "auto: the detector again" "$(jget "$T/rec.json" 'col("email").sensitivity')" pii
eq "auto: no override" "$(jget "$T/rec.json" 'col("email").sensitivity_override')" false
eq "auto: description stays" "$(jget "$T/rec.json" 'col("email").description')" "hashed before export"
eq "untag" "$(jget "$T/rec.json" j.tags)" '["team:growth"]'

# ---------------------------------------------------------------- bad input
usage_err "no name" "$LH" datasets describe --description x
usage_err "nothing to change" "$LH" datasets describe meta_c
usage_err "bad tag" "$LH" datasets describe meta_c --tag GDPR
usage_err "empty tag in --tags" "$LH" datasets describe meta_c --tags "a,,b"
usage_err "bad level" "$LH" datasets describe meta_c --column email --pii secret
usage_err "--pii without --column" "$LH" datasets describe meta_c --pii none
usage_err "--column alone" "$LH" datasets describe meta_c --column email
usage_err "--description without value" "$LH" datasets describe meta_c --description
usage_err "description too long" "$LH" datasets describe meta_c --description "$(head -c 5000 /dev/zero | tr '\0' x)"
usage_err "control character" "$LH" datasets describe meta_c --description "$(printf 'a\001b')"
usage_err "unknown column" "$LH" datasets describe meta_c --column nosuch --pii none
usage_err "unknown option" "$LH" datasets describe meta_c --colour red
usage_err "bad dataset name" "$LH" datasets describe ../x --description x
expect "unknown dataset" 1 "$LH" datasets describe nosuch --description x
one_line "unknown dataset"
expect "nothing changed by the bad inputs" 0 "$LH" datasets meta_c --json
eq "still as before" "$(jget "$T/out" 'j.description + "|" + j.tags')" "Customers of the shop|team:growth"

# ---------------------------------------------------------------- through the daemon
"$LH" serve --listen 127.0.0.1:0 --data "$LAKEHOUSE_DATA" >"$T/serve.out" 2>"$T/serve.log" &
SERVE_PID=$!
for _ in $(seq 1 100); do
    grep -q "listening on" "$T/serve.out" && break
    sleep 0.1
done
grep -q "listening on" "$T/serve.out" && ok "daemon up" || { bad "no daemon: $(cat "$T/serve.log")"; exit 1; }
expect "describe through the daemon" 0 "$LH" datasets describe meta_c --tags "pii-reviewed,tier-1" \
    --column phone --pii none --description "$(printf 'mobile or landline\n"quoted"')"
has "daemon: describe says no version was made" "$T/out" "described (still version 2)"
grep -q "PATCH /api/datasets/meta_c 200" "$T/serve.log" && ok "it went through the API" ||
    bad "no PATCH in the daemon's log: $(tail -5 "$T/serve.log")"
expect "daemon: --json" 0 "$LH" datasets describe meta_c --column city --pii auto --json
cp "$T/out" "$T/rec.json"
eq "daemon: tags replaced" "$(jget "$T/rec.json" j.tags)" '["pii-reviewed","tier-1"]'
eq "daemon: phone unmarked" "$(jget "$T/rec.json" 'col("phone").sensitivity')" null
eq "daemon: phone description" "$(jget "$T/rec.json" 'JSON.stringify(col("phone").description)')" '"mobile or landline\n\"quoted\""'
eq "daemon: city auto" "$(jget "$T/rec.json" 'col("city").sensitivity_override')" false
usage_err "daemon: unknown column is exit 2" "$LH" datasets describe meta_c --column nosuch --pii pii
has "daemon: the API's message" "$T/err" "no column 'nosuch'"
expect "daemon: unknown dataset" 1 "$LH" datasets describe nosuch --description x

echo "cli_describe: $fails failure(s)"
[ "$fails" = 0 ]
