#!/usr/bin/env bash
# bench/ingest/iceberg_cost.sh BEFORE_BIN AFTER_BIN [ROWS...] — what the
# Iceberg commit adds to an ingest (docs/iceberg.md "Commit").
#
# For each ROWS (default 3 and 1000000): a throwaway PostgreSQL
# (tests/servers/pg.sh) with the table of bench/ingest/ingest.sh, then, per
# binary and alternating (BEFORE, AFTER, BEFORE, …, LH_TRIES times, default
# 3): an overwrite into a fresh data directory and an append on top of it.
# Prints each run's wall time, the median per binary and mode, the Iceberg
# stage and publish times AFTER logs (debug), and the metadata bytes one
# version adds (everything under datasets/bench/metadata/ after version 1
# and what version 2 added). Not a test: nothing is asserted.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: iceberg_cost.sh BEFORE_BIN AFTER_BIN [ROWS...]" >&2; exit 2; }
before=$1 after=$2
shift 2
[ $# -gt 0 ] || set -- 3 1000000
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tries=${LH_TRIES:-3}
tmp=$(mktemp -d /tmp/lh-bench-ice.XXXXXX)
chmod 755 "$tmp"
cleanup() {
  bash "$root/tests/servers/pg.sh" stop "$tmp/pg" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
bash "$root/tests/servers/pg.sh" start "$tmp/pg" >/dev/null
# shellcheck disable=SC1091
. "$tmp/pg/env"

for rows in "$@"; do
  psql -X -q -v ON_ERROR_STOP=1 "$PG_SUPER_DSN" <<SQL
DROP TABLE IF EXISTS bench;
CREATE TABLE bench AS SELECT g::bigint AS id,
  CASE WHEN g % 20 = 1 THEN NULL ELSE (g * 7919) % 1000000 END::int AS qty,
  CASE WHEN g % 20 = 2 THEN NULL ELSE (g % 100000) * 1.37 END::numeric(12,2) AS amount,
  CASE WHEN g % 20 = 3 THEN NULL ELSE g * 0.001 END::float8 AS score,
  CASE WHEN g % 20 = 4 THEN NULL ELSE (ARRAY['alpha','beta','gamma','delta','epsilon','zeta','eta','theta'])[g % 8 + 1] END AS category,
  CASE WHEN g % 20 = 5 THEN NULL ELSE 'customer' || g || '@example.com' END AS email,
  CASE WHEN g % 20 = 6 THEN NULL ELSE timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' END AS created_at,
  CASE WHEN g % 20 = 7 THEN NULL ELSE g % 2 = 0 END AS active,
  CASE WHEN g % 20 = 8 THEN NULL ELSE json_build_object('k', g % 10, 'tag', 't' || (g % 5)) END AS meta
FROM generate_series(1::bigint, $rows) g;
VACUUM ANALYZE bench;
SQL
  : >"$tmp/walls"
  for i in $(seq "$tries"); do
    for which in before after; do
      bin=$before
      [ "$which" = after ] && bin=$after
      d=$tmp/d-$which
      rm -rf "$d"
      for mode in overwrite append; do
        /usr/bin/time -f "%e" -o "$tmp/time" env LAKEHOUSE_LOG_LEVEL=debug "$bin" ingest postgres \
          --dsn "$PG_USER_DSN" --table bench --data "$d" --codec zstd --mode "$mode" \
          >"$tmp/out" 2>"$tmp/log"
        echo "$which $mode $(cat "$tmp/time")" >>"$tmp/walls"
        if [ "$which" = after ]; then
          grep -o 'Iceberg snapshot [0-9]* staged in [0-9.]* ms\|Iceberg version [0-9]* published in [0-9.]* ms' \
            "$tmp/log" | sed "s/^/  $mode: /"
          if [ "$mode" = overwrite ]; then
            du -cb "$d/primary/datasets/bench/metadata" | tail -1 | cut -f1 >"$tmp/bytes1"
          else
            b1=$(cat "$tmp/bytes1")
            b2=$(du -cb "$d/primary/datasets/bench/metadata" | tail -1 | cut -f1)
            echo "  metadata bytes: after version 1 $b1, version 2 added $((b2 - b1))"
            ls -l "$d/primary/datasets/bench/metadata" | awk 'NR > 1 { print "    " $5, $9 }'
          fi
        fi
      done
    done
  done
  echo "== $rows rows: wall seconds (median of $tries)"
  for which in before after; do
    for mode in overwrite append; do
      awk -v w="$which" -v m="$mode" '$1 == w && $2 == m { print $3 }' "$tmp/walls" | sort -n |
        awk -v w="$which" -v m="$mode" '{ a[NR] = $1 } END { printf "%-6s %-9s median %.3f  all:", w, m, a[int((NR + 1) / 2)]; for (i = 1; i <= NR; i++) printf " %s", a[i]; print "" }'
    done
  done
done
