#!/usr/bin/env bash
# Seeds for fuzz_elf, built from the DWARF fixture the tests use
# (tests/dwarf_fixture/fx.c, fx2.c): gcc and clang, DWARF 4 and 5, debug
# sections uncompressed, zlib (SHF_COMPRESSED), zlib-gnu (.zdebug_*) and
# zstd — compressed by the linker, so both compilers get every kind — and
# a stripped binary with its separate debug file (.gnu_debuglink). The
# fuzz build runs this (fuzz/CMakeLists.txt); the files are not kept in
# the tree. Each is checked to hold what its name says.
# Usage: fuzz_seeds.sh OUT_DIR FIXTURE_DIR
set -euo pipefail
out=$1; fx=$2
mkdir -p "$out"
fail() { echo "fuzz_seeds: $*" >&2; exit 1; }
# The section flag or name that shows each compression kind. (readelf's
# output is taken whole first: grep -q leaving a pipe early would fail
# the pipeline under pipefail.)
shows() { # file kind
  local sec det
  sec=$(readelf -S -W "$1")
  det=$(readelf -t -W "$1")
  case $2 in
    none) ! grep -q '\.zdebug_' <<<"$sec" && grep -q '\.debug_info' <<<"$sec" ;;
    zlib-gabi) grep -q 'ZLIB' <<<"$det" ;;
    zstd) grep -q 'ZSTD' <<<"$det" ;;
    zlib-gnu) grep -q '\.zdebug_info' <<<"$sec" ;;
  esac
}
for cc in gcc clang; do
  command -v $cc >/dev/null || fail "$cc not found"
  for ver in 4 5; do
    for z in none zlib-gabi zlib-gnu zstd; do
      f=$out/${cc}_dwarf${ver}_$z
      $cc -O2 -gdwarf-$ver -gz=none -fno-omit-frame-pointer "$fx/fx.c" "$fx/fx2.c" \
          -o "$f" -Wl,--build-id -Wl,--compress-debug-sections=$z
      shows "$f" $z || fail "$f: debug sections are not $z"
    done
  done
done
# Stripped, with the debug information in a file of its own.
f=$out/gcc_dwarf5_stripped
cp "$out/gcc_dwarf5_none" "$f"
objcopy --only-keep-debug "$f" "$f.debug"
objcopy --strip-debug --add-gnu-debuglink="$f.debug" "$f"
grep -q '\.gnu_debuglink' <<<"$(readelf -S -W "$f")" || fail "$f: no .gnu_debuglink"
echo "fuzz_seeds: $(ls "$out" | wc -l) seeds in $out"
