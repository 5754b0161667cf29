#!/usr/bin/env bash
# scripts/run.sh (the README's first command), with a stand-in `cmake` that
# prints 166 build lines like a real first build: the build's output goes to
# a log (one summary line on the screen), `lakehouse` ends up on the PATH (a
# symlink in LH_INSTALL_DIR to the built binary), and the daemon's address
# is among the first lines; a failing build shows the log's end and exits
# non-zero.
# usage: cli_run_script.sh path/to/lakehouse path/to/source-tree
set -u
LH=$1
SRC=$2
T=$(mktemp -d /tmp/lh-cli-runsh-XXXXXX)
PID=
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }

mkdir -p "$T/shim"
cat >"$T/shim/cmake" <<SHIM
#!/bin/sh
# a stand-in for cmake: configure or build, as chatty as the real one
if [ "\$1" = --build ]; then
    i=1
    while [ \$i -le 166 ]; do echo "[\$i/166] Building C object src/x/CMakeFiles/x.dir/f\$i.c.o"; i=\$((i + 1)); done
    [ "\${FAKE_FAIL:-0}" = 1 ] && { echo "src/x/f9.c:1:1: error: expected ';'"; exit 1; }
    ln -sf "$LH" "\$2/lakehouse"
else
    while [ \$# -gt 0 ]; do [ "\$1" = -B ] && { mkdir -p "\$2"; touch "\$2/CMakeCache.txt"; }; shift; done
    echo "-- Configuring done"
fi
SHIM
chmod +x "$T/shim/cmake"

env PATH="$T/shim:$PATH" LH_SKIP_DEPS=1 LH_BUILD_DIR="$T/build" LH_INSTALL_DIR="$T/bin" \
    LAKEHOUSE_DATA="$T/data" bash "$SRC/scripts/run.sh" --listen 127.0.0.1:0 >"$T/out" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
    grep -q "listening on http://" "$T/out" && break
    sleep 0.1
done
if grep -q "listening on http://127.0.0.1:" "$T/out"; then ok "the daemon runs"; else
    bad "no address: $(cat "$T/out")"; fi
n=$(sed -n '/listening on/=' "$T/out" | head -n 1)
[ -n "$n" ] && [ "$n" -le 8 ] && ok "the address is line $n, not under the build" ||
    bad "the address is line ${n:-?}: $(head -20 "$T/out")"
if grep -q "Building C object" "$T/out"; then bad "build lines on the screen"; else ok "build quiet"; fi
grep -q "building .*done" "$T/out" && ok "one build summary line" || bad "no build summary: $(cat "$T/out")"
grep -q "Building C object" "$T/build/build.log" && ok "the build log is kept" || bad "no build log"
[ -L "$T/bin/lakehouse" ] && ok "lakehouse linked into the install dir" || bad "no $T/bin/lakehouse"
if PATH="$T/bin:$PATH" lakehouse -V | grep -q '^lakehouse '; then ok "lakehouse on the PATH runs"; else
    bad "lakehouse -V from the PATH"; fi
kill "$PID" 2>/dev/null
wait "$PID" 2>/dev/null
PID=

env PATH="$T/shim:$PATH" LH_SKIP_DEPS=1 LH_BUILD_DIR="$T/build2" LH_INSTALL_DIR="$T/bin2" \
    LAKEHOUSE_DATA="$T/data2" FAKE_FAIL=1 bash "$SRC/scripts/run.sh" >"$T/out" 2>&1
rc=$?
[ "$rc" != 0 ] && ok "a failed build exits $rc" || bad "a failed build exits 0"
grep -q "FAILED" "$T/out" && ok "the failure is said" || bad "no FAILED: $(cat "$T/out")"
grep -q "error: expected ';'" "$T/out" && ok "the log's end is shown" || bad "no log shown"
grep -q "$T/build2/build.log" "$T/out" && ok "the log's path is shown" || bad "no log path"
[ -e "$T/bin2/lakehouse" ] && bad "linked after a failed build" || ok "nothing linked after a failure"
[ "$fails" = 0 ] || { echo "$fails failed"; exit 1; }
