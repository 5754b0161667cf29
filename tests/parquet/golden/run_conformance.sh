#!/bin/sh
# run_conformance.sh GEN OUTDIR [--negative]
# Writes every golden case with GEN (gen_golden) into OUTDIR, then reads the
# files back with DuckDB and with arrow-rs (node checkers); fails if either
# reader disagrees with the expected values on anything.
# --negative: the control. One case is generated with a deliberately wrong
# expected value; both checkers must fail, and on that value.
set -u
gen=$1 out=$2 mode=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$out" && mkdir -p "$out" || exit 1
if [ "$mode" = --negative ]; then
    "$gen" "$out" --tamper || { echo "FAIL: gen_golden failed"; exit 1; }
    for c in check_duckdb check_arrow; do
        if node "$here/$c.mjs" "$out" >"$out/$c.log" 2>&1; then
            echo "FAIL: $c accepted a wrong expected value"; cat "$out/$c.log"; exit 1
        fi
        if ! grep -q 'MISMATCH.*int64_r\[0\]' "$out/$c.log"; then
            echo "FAIL: $c failed, but not on the tampered value:"; cat "$out/$c.log"; exit 1
        fi
        echo "$c rejected the tampered value:"; grep 'int64_r\[0\]' "$out/$c.log"
    done
    exit 0
fi
"$gen" "$out" || { echo "FAIL: gen_golden failed"; exit 1; }
rc=0
node "$here/check_duckdb.mjs" "$out" || rc=1
node "$here/check_arrow.mjs" "$out" || rc=1
exit $rc
