#!/usr/bin/env bash
# pg.sh start|stop|env DIR — a throwaway PostgreSQL 15 for tests.
#
# start: initdb into DIR/data (as `nobody` when run as root), listen on
# 127.0.0.1 on a free port with the unix socket in DIR, create the test
# roles, and write DIR/env (KEY=VALUE lines, also valid shell) with:
#   PG_HOST PG_PORT PG_SOCKDIR PG_DB PG_SUPER_DSN PG_USER_DSN PG_LIMITED_DSN
#   PG_PASSWORD PG_LIMITED_PASSWORD
# Values are single-quoted (the file is sourceable shell).
# A leftover server in DIR (from a killed run) is stopped first.
# stop: stops the server and removes DIR.
set -euo pipefail
cmd=${1:?usage: pg.sh start|stop DIR}
dir=${2:?usage: pg.sh start|stop DIR}
case $dir in /*) ;; *) dir=$PWD/$dir ;; esac # servers chdir: make it absolute
bin=/usr/lib/postgresql/15/bin
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}
free_port() {
  local p
  for _ in $(seq 1 200); do
    # below the kernel's ephemeral range (32768+), so no client socket holds it
    p=$((10000 + RANDOM % 22000))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo $p; return 0; fi
  done
  echo "pg.sh: no free port" >&2; return 1
}
stop() {
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}
case $cmd in
stop) stop ;;
start)
  stop
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown nobody:nogroup "$dir"
  as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  port=$(free_port)
  cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 64MB
max_connections = 40
lc_monetary = 'C'
CONF
  # Password auth on TCP (for the wrong-password test), trust on the socket.
  cat >"$dir/data/pg_hba.conf" <<HBA
local all all trust
host  all all 127.0.0.1/32 scram-sha-256
HBA
  # Another test's server may take the port between the check and the bind:
  # try a few ports (a later `port =` line overrides the earlier ones).
  started=
  for attempt in 1 2 3 4 5; do
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 20 start >/dev/null; then
      started=1
      break
    fi
    grep -q 'Address already in use' "$dir/server.log" 2>/dev/null || break
    port=$(free_port)
    echo "port = $port" >>"$dir/data/postgresql.conf"
  done
  [ -n "$started" ] || { cat "$dir/server.log" >&2; exit 1; }
  psql=(/usr/lib/postgresql/15/bin/psql -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres)
  "${psql[@]}" -d postgres <<SQL
CREATE ROLE lh_test LOGIN SUPERUSER PASSWORD 'pw-lh-S3cret';
CREATE ROLE lh_limited LOGIN PASSWORD 'pw-limited-X9';
CREATE DATABASE lhtest OWNER lh_test;
SQL
  cat >"$dir/env" <<ENV
PG_HOST='127.0.0.1'
PG_PORT='$port'
PG_SOCKDIR='$dir'
PG_DB='lhtest'
PG_PASSWORD='pw-lh-S3cret'
PG_LIMITED_PASSWORD='pw-limited-X9'
PG_USER_DSN='postgresql://lh_test:pw-lh-S3cret@127.0.0.1:$port/lhtest'
PG_LIMITED_DSN='postgresql://lh_limited:pw-limited-X9@127.0.0.1:$port/lhtest'
PG_SUPER_DSN='host=$dir port=$port user=postgres dbname=lhtest'
ENV
  cat "$dir/env"
  ;;
*) echo "usage: pg.sh start|stop DIR" >&2; exit 2 ;;
esac
