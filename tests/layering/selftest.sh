#!/usr/bin/env bash
# selftest.sh SRC_DIR — the include check catches each kind of violation:
# each case copies the tree, breaks it one way, and expects check_includes.sh
# to fail naming the file; the untouched copy must pass.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "${1:?usage: selftest.sh SRC_DIR}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
expect() { # expect NAME PATTERN EDIT...
  local name=$1 pat=$2; shift 2
  rm -rf "$tmp/src" && cp -r "$src" "$tmp/src"
  (cd "$tmp/src" && eval "$@")
  local out rc
  out=$("$here/check_includes.sh" "$tmp/src" 2>&1); rc=$?
  if [ "$pat" = PASS ]; then
    [ $rc -eq 0 ] || { echo "FAIL $name: clean tree rejected: $out"; failures=$((failures + 1)); return; }
  elif [ $rc -eq 0 ] || ! grep -q -- "$pat" <<<"$out"; then
    echo "FAIL $name: expected a violation matching '$pat', got rc=$rc: $out"
    failures=$((failures + 1)); return
  fi
  echo "ok   $name"
}
expect clean PASS true
expect upward 'store may not use catalog' 'echo "#include \"catalog/catalog.h\"" >> store/store.c'
expect sideways 'source may not use parquet' 'echo "#include \"parquet/parquet.h\"" >> source/pg.c'
expect private 'private header of parquet' 'echo "#include \"parquet/parquet_int.h\"" >> sql/engine.c'
expect relative 'only "module/header.h"' 'echo "#include \"../catalog/catalog.h\"" >> ingest/ingest.c'
expect foreign_local 'not a file of src/sql' 'echo "#include \"store_int.h\"" >> sql/engine.c'
expect cmake_link 'links lh_catalog' 'echo "target_link_libraries(lh_store PRIVATE lh_catalog)" >> store/CMakeLists.txt'
expect new_module 'src/extra: module missing' 'mkdir extra && touch extra/x.c'
echo "$((8 - failures)) passed, $failures failed"
[ $failures -eq 0 ]
