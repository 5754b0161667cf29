#!/usr/bin/env bash
# mariadb.sh start|stop DIR — a throwaway MariaDB server for tests.
#
# start: mariadb-install-db into DIR/data (server runs as `nobody` when
# started by root), listen on 127.0.0.1 on a free port with the unix socket
# in DIR, create the test users and database, and write DIR/env with:
#   MY_HOST MY_PORT MY_SOCKET MY_DB MY_USER_DSN MY_LIMITED_DSN MY_PASSWORD
#   MY_ROOT_ARGS (client args for the root user over the socket)
# Values are single-quoted (the file is sourceable shell).
# A leftover server in DIR is stopped first. stop: stops it, removes DIR.
set -euo pipefail
cmd=${1:?usage: mariadb.sh start|stop DIR}
dir=${2:?usage: mariadb.sh start|stop DIR}
case $dir in /*) ;; *) dir=$PWD/$dir ;; esac # servers chdir: make it absolute
mariadbd=$(command -v mariadbd || echo /usr/sbin/mariadbd) # /usr/sbin may be off PATH
free_port() {
  local p
  for _ in $(seq 1 200); do
    # below the kernel's ephemeral range (32768+), so no client socket holds it
    p=$((10000 + RANDOM % 22000))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo $p; return 0; fi
  done
  echo "mariadb.sh: no free port" >&2; return 1
}
stop() {
  if [ -f "$dir/server.pid" ]; then
    local pid; pid=$(cat "$dir/server.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  rm -rf "$dir"
}
case $cmd in
stop) stop ;;
start)
  stop
  mkdir -p "$dir/data" "$dir/tmp" # a private tmpdir: parallel installs share no /tmp files
  user=$(id -un)
  if [ "$(id -u)" = 0 ]; then user=nobody; chown -R nobody:nogroup "$dir"; fi
  mariadb-install-db --no-defaults --user="$user" --datadir="$dir/data" \
    --auth-root-authentication-method=normal --skip-test-db --tmpdir="$dir/tmp" >"$dir/install.log" 2>&1 ||
    { cat "$dir/install.log" >&2; exit 1; }
  # Another test's server may take the port between the check and the bind:
  # try a few ports.
  up=
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    : >"$dir/server.log"
    [ "$(id -u)" = 0 ] && chown nobody:nogroup "$dir/server.log"
    "$mariadbd" --no-defaults --user="$user" --datadir="$dir/data" --socket="$dir/mysql.sock" \
      --port="$port" --bind-address=127.0.0.1 --tmpdir="$dir/tmp" --pid-file="$dir/server.pid" \
      --log-error="$dir/server.log" --innodb-buffer-pool-size=64M --innodb-log-file-size=16M \
      --innodb-flush-log-at-trx-commit=0 --skip-log-bin --character-set-server=utf8mb4 \
      --collation-server=utf8mb4_general_ci --max-connections=40 >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1 600); do # up to 30 s: a loaded 2-core machine starts slowly
      if mariadb --no-defaults -uroot --socket="$dir/mysql.sock" -e 'SELECT 1' >/dev/null 2>&1; then
        up=1
        break
      fi
      kill -0 "$pid" 2>/dev/null || break # the server gave up (e.g. the port was taken)
      sleep 0.05
    done
    [ -n "$up" ] && break
    grep -q 'Address already in use' "$dir/server.log" 2>/dev/null || break
  done
  [ -n "$up" ] ||
    { echo "mariadb.sh: server did not start" >&2; cat "$dir/server.log" >&2; exit 1; }
  mariadb --no-defaults -uroot --socket="$dir/mysql.sock" <<SQL
CREATE DATABASE lhtest;
CREATE USER 'lh_test'@'%' IDENTIFIED BY 'pw-lh-S3cret';
GRANT ALL ON *.* TO 'lh_test'@'%';
CREATE USER 'lh_limited'@'%' IDENTIFIED BY 'pw-limited-X9';
GRANT USAGE ON *.* TO 'lh_limited'@'%';
SQL
  cat >"$dir/env" <<ENV
MY_HOST='127.0.0.1'
MY_PORT='$port'
MY_SOCKET='$dir/mysql.sock'
MY_DB='lhtest'
MY_PASSWORD='pw-lh-S3cret'
MY_USER_DSN='mysql://lh_test:pw-lh-S3cret@127.0.0.1:$port/lhtest'
MY_LIMITED_DSN='mariadb://lh_limited:pw-limited-X9@127.0.0.1:$port/lhtest'
MY_SOCKET_DSN='mysql://root@localhost/lhtest?socket=$dir/mysql.sock'
ENV
  cat "$dir/env"
  ;;
*) echo "usage: mariadb.sh start|stop DIR" >&2; exit 2 ;;
esac
