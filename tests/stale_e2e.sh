#!/usr/bin/env bash
# Stale sources end to end: build tests/stale_prog.c from a copy, run it,
# edit the copy, run it again. With clang -gdwarf-5 the line table records
# the file's MD5, so an edit that keeps the mtime older is still caught;
# with gcc (no MD5) a source newer than the binary is marked.
# Usage: stale_e2e.sh SRC_DIR INCLUDE_DIR STATIC_LIB "LIBS"
# FS_TEST_CFLAGS: what programs linking the library need (the sanitizer
# builds' flags).
set -euo pipefail
src=$1; inc=$2; lib=$3; libs=$4
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fail=0
check() { # name, output, pattern, want(1 present / 0 absent)
  if grep -qF -- "$3" <<<"$2"; then got=1; else got=0; fi
  if [ "$got" != "$4" ]; then
    echo "FAIL $1: expected pattern '$3' present=$4"; echo "$2"; fail=1
  else echo "ok   $1"; fi
}
line='	    faststack_print_stack(STDOUT_FILENO, 0, NULL);'
for cc in clang gcc; do
  command -v $cc >/dev/null || { echo "skip $cc: not installed"; continue; }
  d=$work/$cc; mkdir -p "$d"; cp "$src/stale_prog.c" "$d/prog.c"
  # Sources older than the binary: backdate the copy before building.
  touch -d '2 hours ago' "$d/prog.c"
  $cc -O1 -g -gdwarf-5 -fno-omit-frame-pointer ${FS_TEST_CFLAGS:-} -I"$inc" \
      "$d/prog.c" -o "$d/prog" "$lib" $libs
  out=$("$d/prog")
  check "$cc fresh: source line shown" "$out" "$line" 1
  check "$cc fresh: not stale" "$out" "stale:" 0
  if [ $cc = clang ]; then
    # Same length, older mtime than the binary: only the MD5 can tell.
    sed -i 's/EDIT-ME/EDITED/' "$d/prog.c"
    touch -d '1 hour ago' "$d/prog.c"
    out=$("$d/prog")
    check "clang edited: MD5 mismatch marked" "$out" \
      "stale: source differs from the one compiled (MD5)" 1
  else
    touch "$d/prog.c"   # newer than the binary
    out=$("$d/prog")
    check "gcc touched: newer than binary" "$out" "stale: source newer than binary" 1
  fi
done
exit $fail
