#!/usr/bin/env bash
# check_includes.sh SRC_DIR — fails when the tree goes against the module
# graph of SRC_DIR/README.md (the table "| `module` | may use |").
#
# For every .c/.h file in SRC_DIR/<module>/:
#   #include "other/x.h"  other must be the module itself or one it may use,
#                         and x.h a public header of other (not *_int.h);
#   #include "x.h"        x.h must be a file of the same folder;
#   no "../" and no include of a path outside src/.
# For every SRC_DIR/<module>/CMakeLists.txt: every lh_<lib> it links belongs
# to a module it may use. Every folder of SRC_DIR must be in the table.
# Prints one line per violation and exits 1 if there was any.
set -uo pipefail
src=${1:?usage: check_includes.sh SRC_DIR}
table=$src/README.md
declare -A allow
while IFS= read -r line; do
  if [[ $line =~ ^\|\ \`([a-z_]+)\`\ \|([^|]*)\| ]]; then
    m=${BASH_REMATCH[1]}
    deps=${BASH_REMATCH[2]//,/ }
    allow[$m]=" $m $(echo $deps) "
  fi
done <"$table"
[ "${#allow[@]}" -gt 0 ] || { echo "$table: no module table found"; exit 1; }

bad=0
fail() { echo "$*"; bad=1; }

for dir in "$src"/*/; do
  m=$(basename "$dir")
  if [ -z "${allow[$m]+x}" ]; then
    fail "src/$m: module missing from src/README.md's table"
    continue
  fi
  for f in "$dir"*.c "$dir"*.h; do
    [ -e "$f" ] || continue
    rel=src/$m/$(basename "$f")
    while IFS=: read -r n line; do
      [[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\"([^\"]+)\" ]] || continue
      inc=${BASH_REMATCH[1]}
      case $inc in
      */*/* | ../* | ./* | */../*)
        fail "$rel:$n: #include \"$inc\": only \"module/header.h\" or a header of this folder" ;;
      */*)
        other=${inc%%/*} hdr=${inc#*/}
        if [[ ${allow[$m]} != *" $other "* ]]; then
          fail "$rel:$n: $m may not use $other (#include \"$inc\"; see src/README.md)"
        elif [[ $hdr == *_int.h ]]; then
          fail "$rel:$n: #include \"$inc\": private header of $other"
        elif [ ! -f "$src/$other/$hdr" ]; then
          fail "$rel:$n: #include \"$inc\": no such header"
        fi ;;
      *)
        [ -f "$dir$inc" ] || fail "$rel:$n: #include \"$inc\": not a file of src/$m" ;;
      esac
    done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f")
  done
  cm=$dir/CMakeLists.txt
  [ -f "$cm" ] || continue
  for lib in $(grep -v '^[[:space:]]*#' "$cm" | grep -o 'target_link_libraries([^)]*)' | grep -o '\blh_[a-z_]*' | sort -u); do
    owner=${lib#lh_}
    owner=${owner%%_*}
    # libraries the module itself defines (lh_parquet_reader in parquet)
    [ "$owner" = "$m" ] && continue
    [[ ${allow[$m]} == *" $owner "* ]] || fail "src/$m/CMakeLists.txt: links $lib, but $m may not use $owner"
  done
done
exit $bad
