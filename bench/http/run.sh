#!/usr/bin/env bash
# HTTP API benchmark (issue 6; a benchmark, not a test): `lakehouse serve`
# with N schedules loaded (default 1,000) against nginx serving the very same
# JSON bodies as static files, both on loopback, both measured with wrk in
# the same run:
#   GET /api/schedules/{id}   (ids rotated over all N by bench/http/rotate.lua)
#   GET /api/health
# Prints requests/s and p99 latency for each, and ours/nginx.  Goal >= 0.5x.
#
#   bench/http/run.sh
# Environment:
#   BUILD     build directory (default build-httpbench, configured Release)
#   LAKEHOUSE a prebuilt lakehouse binary to measure instead (no build)
#   THREADS   daemon HTTP pool threads (LAKEHOUSE_HTTP_THREADS) and nginx
#             worker_processes, always equal (default 4 = the daemon default)
#   WRK       wrk arguments (default "-t2 -c64 -d15s")
#   N         schedules to load (default 1000)
#   PERF=1    also `perf record -e cpu-clock -g` the daemon for 10 s under
#             the schedule load, report in $OUT/perf.txt (needs perf);
#             PERF=dwarf unwinds with DWARF at 250 Hz instead (the Release
#             build and the libraries have no frame pointers, so only this
#             gives callers; slower to report)
#   OUT       scratch directory (default: a fresh mktemp -d, removed at exit
#             unless KEEP=1)
# Fairness: both servers log every request to a file in the scratch
# directory (the daemon always logs one line per request; nginx gets
# access_log on), both use THREADS workers, both answer the same bytes with
# Content-Type application/json and keep-alive.  nginx runs unprivileged
# (as nobody when this script runs as root).  Loopback only; wrk's duration
# bounds every load loop; every process started here is stopped at exit.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/bench/http"
build=${BUILD:-$root/build-httpbench}
threads=${THREADS:-4}
wrk_args=${WRK:--t2 -c64 -d15s}
nsched=${N:-1000}
export N=$nsched

# ---------------------------------------------------------------- tools
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v curl >/dev/null || need+=(curl)
if [ "${PERF:-0}" != 0 ] && ! command -v perf >/dev/null; then need+=(linux-perf); fi
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  pkgs=()
  for p in "${need[@]}"; do
    if [ "$p" = nginx ]; then
      # nginx-light is the smallest build; plain nginx where it is absent
      if apt-cache policy nginx-light 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        p=nginx-light
      fi
    fi
    pkgs+=("$p")
  done
  echo "installing ${pkgs[*]}" >&2
  $sudo apt-get install -y "${pkgs[@]}" >/dev/null
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
lakehouse="$build/lakehouse"
if [ -n "${LAKEHOUSE:-}" ]; then
  lakehouse=$LAKEHOUSE # a prebuilt binary; no build
elif ! ninja -j2 -C "$build" lakehouse >"${TMPDIR:-/tmp}/lh-bench-http-build.log" 2>&1; then
  # others may be mid-edit in a shared tree: an older binary still measures
  [ -x "$lakehouse" ] || { cat "${TMPDIR:-/tmp}/lh-bench-http-build.log" >&2; exit 1; }
  echo "warning: build failed (see ${TMPDIR:-/tmp}/lh-bench-http-build.log); using the existing $lakehouse" >&2
fi

# ---------------------------------------------------------------- scratch
if [ -n "${OUT:-}" ]; then
  out=$OUT
  rm -rf "$out" && mkdir -p "$out"
else
  out=$(mktemp -d "${TMPDIR:-/tmp}/lh-bench-http.XXXXXX")
fi
daemon_pid="" nginx_pid="" perf_pid=""
cleanup() {
  set +e
  for p in $perf_pid $nginx_pid $daemon_pid; do
    kill -TERM "$p" 2>/dev/null
  done
  for p in $perf_pid $nginx_pid $daemon_pid; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  [ "${KEEP:-0}" = 1 ] || rm -rf "$out"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 40000))
    if [ -z "$(ss -Htln "sport = :$p")" ]; then echo "$p"; return 0; fi
  done
  echo "no free port" >&2
  return 1
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
load_start=$(loadavg)

# ---------------------------------------------------------------- daemon
mkdir -p "$out/data" "$out/home"
# 64 hex digits: a throwaway key, so nothing is read or created in $HOME
key=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
HOME="$out/home" LAKEHOUSE_SECRET_KEY="$key" LAKEHOUSE_HTTP_THREADS="$threads" \
  "$lakehouse" serve --listen 127.0.0.1:0 --data "$out/data" \
  >"$out/daemon.out" 2>"$out/daemon.log" &
daemon_pid=$!
addr=""
for _ in $(seq 100); do
  addr=$(sed -n 's|^lakehouse: listening on http://||p' "$out/daemon.out")
  [ -n "$addr" ] && break
  kill -0 "$daemon_pid" 2>/dev/null || { cat "$out/daemon.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$addr" ] || { echo "daemon did not start" >&2; cat "$out/daemon.log" >&2; exit 1; }
ours="http://$addr"

# ---------------------------------------------------------------- schedules
# One curl process, one keep-alive connection, N POSTs.  Postgres schedules
# to a host that does not exist, created disabled: a new enabled schedule is
# due at once (docs/schedules.md), and N failing runs plus their retries
# would compete with the benchmark.  The cron (1 January) is a second guard.
id_of() { printf 'bench-%04d' "$1"; }
{
  for i in $(seq 1 "$nsched"); do
    id=$(id_of "$i")
    body="{\"id\":\"$id\",\"kind\":{\"type\":\"postgres\",\"dsn\":\"postgres://etl:s3cret@db-$i.invalid:5432/shop\",\"table\":\"orders_$i\",\"mode\":\"overwrite\"},\"trigger\":{\"type\":\"cron\",\"expr\":\"0 0 1 1 *\",\"tz\":\"UTC\"},\"enabled\":false,\"description\":\"benchmark schedule $i\"}"
    printf 'url = "%s/api/schedules"\n' "$ours"
    printf 'header = "Content-Type: application/json"\n'
    printf 'data-binary = "%s"\n' "${body//\"/\\\"}"
    printf 'output = "/dev/null"\n'
    printf 'write-out = "%%{http_code}\\n"\n'
    [ "$i" = "$nsched" ] || printf 'next\n'
  done
} >"$out/post.curl"
t0=$(date +%s.%N)
curl -s -K "$out/post.curl" >"$out/post.codes"
t1=$(date +%s.%N)
created=$(grep -c '^201$' "$out/post.codes" || true)
if [ "$created" != "$nsched" ]; then
  echo "only $created of $nsched schedules created:" >&2
  sort "$out/post.codes" | uniq -c >&2
  exit 1
fi
awk -v n="$nsched" -v a="$t0" -v b="$t1" \
  'BEGIN { printf "loaded %d schedules in %.2fs (%.1f ms per POST)\n", n, b - a, (b - a) * 1000 / n }'

# ---------------------------------------------------------------- nginx
# The same bodies, fetched from the daemon, served as static files.
www="$out/www"
mkdir -p "$www/api/schedules"
{
  printf 'url = "%s/api/health"\noutput = "%s/api/health"\nnext\n' "$ours" "$www"
  for i in $(seq 1 "$nsched"); do
    id=$(id_of "$i")
    printf 'url = "%s/api/schedules/%s"\noutput = "%s/api/schedules/%s"\n' "$ours" "$id" "$www" "$id"
    [ "$i" = "$nsched" ] || printf 'next\n'
  done
} >"$out/get.curl"
curl -sf -K "$out/get.curl"
[ -s "$www/api/health" ] && [ -s "$www/api/schedules/$(id_of "$nsched")" ] ||
  { echo "could not fetch the bodies" >&2; exit 1; }

ngx="$out/nginx"
mkdir -p "$ngx/tmp"
nport=$(free_port)
user_line=""
run_as=()
if [ "$(id -u)" = 0 ]; then
  # unprivileged: the whole nginx process tree runs as nobody
  chown -R nobody:nogroup "$ngx"
  chmod 755 "$out"
  chmod -R a+rX "$www"
  run_as=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
fi
cat >"$ngx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes $threads;
pid $ngx/nginx.pid;
error_log $ngx/error.log warn;
events { worker_connections 4096; }
http {
    access_log $ngx/access.log;
    client_body_temp_path $ngx/tmp/body;
    proxy_temp_path $ngx/tmp/proxy;
    fastcgi_temp_path $ngx/tmp/fastcgi;
    uwsgi_temp_path $ngx/tmp/uwsgi;
    scgi_temp_path $ngx/tmp/scgi;
    types { }
    default_type application/json;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$nport;
        root $www;
        location / { }
    }
}
EOF
[ "$(id -u)" = 0 ] && chown nobody:nogroup "$ngx/nginx.conf"
"${run_as[@]}" "$nginx_bin" -e "$ngx/error.log" -p "$ngx" -c "$ngx/nginx.conf" &
nginx_pid=$!
theirs="http://127.0.0.1:$nport"
for _ in $(seq 100); do
  curl -sf -o /dev/null "$theirs/api/health" && break
  kill -0 "$nginx_pid" 2>/dev/null || { cat "$ngx/error.log" >&2; exit 1; }
  sleep 0.1
done
cmp -s <(curl -sf "$ours/api/schedules/bench-0001") <(curl -sf "$theirs/api/schedules/bench-0001") ||
  { echo "nginx does not serve the daemon's body" >&2; exit 1; }

# ---------------------------------------------------------------- wrk
# ms from wrk's "99%  1.23ms" (units us, ms, s)
to_ms() {
  awk '{ v = $1; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 }
         else if (v ~ /ms$/) { sub(/ms$/, "", v) }
         else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }
         printf "%.2f\n", v }'
}
declare -A rps p99
# shellcheck disable=SC2086
run_wrk() { # name url [lua]
  local name=$1 url=$2 f="$out/wrk-$1.txt"
  if [ -n "${3:-}" ]; then
    wrk $wrk_args --latency -s "$3" "$url" >"$f"
  else
    wrk $wrk_args --latency "$url" >"$f"
  fi
  rps[$name]=$(awk '/^Requests\/sec:/ { print $2 }' "$f")
  p99[$name]=$(awk '$1 == "99%" { print $2 }' "$f" | to_ms)
  local bad
  bad=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$f")
  local errs
  errs=$(grep -E '^ +Socket errors:' "$f" || true)
  printf '%-16s %10s req/s  p99 %8s ms  %s%s  load %s\n' "$name" "${rps[$name]}" "${p99[$name]}" \
    "${bad:+non-2xx=$bad }" "${errs:+[$errs] }" "$(loadavg)"
}

echo "threads: daemon http.threads=$threads, nginx worker_processes=$threads; wrk $wrk_args; access logs on for both"
echo "body bytes: schedule $(wc -c <"$www/api/schedules/bench-0001"), health $(wc -c <"$www/api/health")"
if [ "${PERF:-0}" != 0 ]; then
  cg=(-g)
  [ "$PERF" = dwarf ] && cg=(-F 250 --call-graph dwarf,16384)
  (sleep 3 && exec perf record -q -e cpu-clock "${cg[@]}" -p "$daemon_pid" -o "$out/perf.data" -- sleep 10) \
    >/dev/null 2>&1 &
  perf_pid=$!
fi
run_wrk ours-schedule "$ours" "$here/rotate.lua"
if [ -n "$perf_pid" ]; then
  wait "$perf_pid" || true
  perf_pid=""
  perf report -i "$out/perf.data" --stdio --no-children --percent-limit 1 \
    -g none --sort dso,symbol >"$out/perf.txt" 2>/dev/null || true
  perf report -i "$out/perf.data" --stdio --children --percent-limit 2 -g none \
    --sort symbol >"$out/perf-children.txt" 2>/dev/null || true
  echo "perf profile: $out/perf.txt, $out/perf-children.txt"
fi
run_wrk nginx-schedule "$theirs" "$here/rotate.lua"
run_wrk ours-health "$ours/api/health"
run_wrk nginx-health "$theirs/api/health"

echo "load average: start $load_start, end $(loadavg) ($(nproc) cores)"
for r in schedule health; do
  awk -v r="$r" -v a="${rps[ours-$r]}" -v b="${rps[nginx-$r]}" -v pa="${p99[ours-$r]}" -v pb="${p99[nginx-$r]}" \
    'BEGIN { printf "%-9s ours/nginx = %.2fx req/s (goal >= 0.5x: %s); p99 %.2f ms vs %.2f ms\n",
             r, a / b, a / b >= 0.5 ? "met" : "NOT met", pa, pb }'
done
grep -c ' http GET ' "$out/daemon.log" | sed 's/^/daemon request log lines: /'
