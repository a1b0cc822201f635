#!/usr/bin/env bash
# Stale sources wherever a source line is shown besides the one-call
# trace (stale_e2e.sh): `faststack symbolize --source -e FILE` (offline,
# addr2line style, one line and with context), `faststack symbolize
# --format go --source` on a raw trace, and the crash handler reading the
# line at crash time (FASTSTACK_CRASH_SOURCE=1). A program is built from
# a copy of tests/stale_prog.c, then a line is inserted at the top of the
# copy: every line shown afterwards is one off, and must be marked.
# Usage: stale_offline.sh FASTSTACK SRC_DIR INCLUDE_DIR STATIC_LIB "LIBS"
set -euo pipefail
fs=$1; src=$2; inc=$3; lib=$4; libs=$5
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fail=0
check() { # name, output, pattern, want(1 present / 0 absent)
  if grep -qF -- "$3" <<<"$2"; then got=1; else got=0; fi
  if [ "$got" != "$4" ]; then
    echo "FAIL $1: expected pattern '$3' present=$4"; echo "$2"; fail=1
  else echo "ok   $1"; fi
}
newer='stale: source newer than binary'
md5='stale: source differs from the one compiled (MD5)'
for cc in gcc clang; do
  d=$work/$cc; mkdir -p "$d"; cp "$src/stale_prog.c" "$d/prog.c"
  touch -d '2 hours ago' "$d/prog.c"
  $cc -O1 -g -gdwarf-5 -fno-omit-frame-pointer ${FS_TEST_CFLAGS:-} -I"$inc" \
      "$d/prog.c" -o "$d/prog" "$lib" $libs
  addr=0x$(nm "$d/prog" | awk '$3 == "stale_target" { print $1 }')
  out=$("$fs" symbolize -a -f --source -e "$d/prog" "$addr")
  # The line shown is the source's line at the number symbolize printed.
  n=$(sed -n 's/^.*prog\.c:\([0-9]*\)$/\1/p' <<<"$out" | head -1)
  line=$(sed -n "${n:-0}p" "$d/prog.c" | sed 's/^ *//')
  check "$cc fresh, --source: line $n shown" "$out" "    $line" 1
  check "$cc fresh, --source: not stale" "$out" "stale:" 0
  # A line inserted at the top: every line number now shows the line
  # before it. Newer than the binary (gcc and clang); another MD5 (clang's
  # DWARF 5 line table records it; gcc 12's does not).
  sed -i '1i /* a line inserted after the build */' "$d/prog.c"
  touch "$d/prog.c"
  want=$newer
  [ $cc = clang ] && want=$md5
  out=$("$fs" symbolize -a -f --source -e "$d/prog" "$addr")
  check "$cc edited, --source: marked" "$out" "$want" 1
  out=$("$fs" symbolize -f --source=2 -e "$d/prog" "$addr")
  check "$cc edited, --source=2: marked" "$out" "$want" 1
  raw=$(printf '#0  0x%016x %s+%s\n' 0 "$d/prog" "$addr")
  out=$("$fs" symbolize --format go --source <<<"$raw")
  check "$cc edited, --format go --source on a raw line: marked" "$out" \
    "$want" 1
  # The crash handler reads the line at crash time (in-process names from
  # the table); the mtime is what it can check there.
  set +e
  out=$(FASTSTACK_CRASH_TABLE=sync FASTSTACK_CRASH_SOURCE=1 "$d/prog" crash 2>&1)
  set -e
  check "$cc edited, crash report: the faulting frame named" "$out" \
    "stale_crash(...)" 1
  check "$cc edited, crash report with FASTSTACK_CRASH_SOURCE=1: marked" \
    "$out" "$newer" 1
done
exit $fail
