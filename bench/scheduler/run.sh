#!/usr/bin/env bash
# Scheduler benchmark (issue 5; DESIGN.md §8): N schedules (random intervals
# and cron expressions in several zones) in a local store, a no-op job, the
# real scheduler thread and the real clock. Measures the idle CPU over
# IDLE_SECS with nothing due (goal < 0.5 % of a core) and the fire lateness
# (job start - due time) of the fires due in FIRE_SECS (goal p99 < 10 ms).
#   bench/scheduler/run.sh [N] [HOT] [IDLE_SECS] [FIRE_SECS] [WORKERS] [SEED]
#   (defaults 10000 2000 60 60 4 42: about 2.5 minutes)
# Environment: BUILD (build directory, default build-bench), OUT (scratch
# directory for the store; its filesystem matters: every run record and
# schedule write is fsynced, so try OUT=/dev/shm/... to see the scheduler
# without the disk). The store is removed afterwards; the daemon log of the
# run is kept in $OUT.log until the next run.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$root/build-bench}
out=${OUT:-${TMPDIR:-/tmp}/lh-bench-scheduler}
rm -rf "$out" "$out.log"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
ninja -C "$build" scheduler_bench >/dev/null
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
status=0
"$build/bench/scheduler_bench" "$out" "${1:-10000}" "${2:-2000}" "${3:-60}" "${4:-60}" \
  "${5:-4}" "${6:-42}" || status=$?
rm -rf "$out"
exit $status
