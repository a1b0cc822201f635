#!/usr/bin/env bash
# Installs the build tree into a scratch prefix and builds a consumer
# against it both ways: pkg-config and CMake's find_package (shared and
# static). Each consumer must run and find its own frames. FS_TEST_CFLAGS:
# what programs linking the library need (the sanitizer builds' flags).
set -euo pipefail
build=$1 src=$2
flags=${FS_TEST_CFLAGS:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
pcdir=$(dirname "$(find "$prefix" -name faststack.pc | head -1)")
test -f "$prefix/include/faststack.h"

echo "-- pkg-config (shared)"
export PKG_CONFIG_PATH="$pcdir"
cc $flags -o "$work/c_pkg" "$src/consumer.c" $(pkg-config --cflags --libs faststack) \
   -Wl,-rpath,"$(pkg-config --variable=libdir faststack)"
"$work/c_pkg"

echo "-- pkg-config (static)"
cc $flags -o "$work/c_pkg_static" "$src/consumer.c" $(pkg-config --cflags faststack) \
   "$(pkg-config --variable=libdir faststack)/libfaststack.a" \
   $(pkg-config --static --libs-only-l faststack | sed 's/-lfaststack//')
"$work/c_pkg_static"

echo "-- pkg-config --static, the library installed static only"
# The command a user types: with only libfaststack.a installed, the
# dependencies must come from the .pc file (Requires.private and
# Libs.private: libmd, zlib, libzstd, libiberty...).
mkdir "$work/static"
cp -a "$prefix/." "$work/static/"
rm -f "$work/static"/lib*/libfaststack.so* "$work/static"/lib/*/libfaststack.so*
PKG_CONFIG_PATH=$(dirname "$(find "$work/static" -name faststack.pc | head -1)") \
  sh -c 'cc $3 -o "$1/c_only_static" "$2/consumer.c" $(pkg-config --cflags faststack) \
         $(pkg-config --static --libs faststack)' sh "$work" "$src" "$flags"
"$work/c_only_static"

echo "-- find_package(faststack)"
cmake -S "$src" -B "$work/cm" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_C_FLAGS="$flags" >/dev/null
cmake --build "$work/cm" >/dev/null
LD_LIBRARY_PATH="$(dirname "$(find "$prefix" -name 'libfaststack.so' | head -1)")" \
  "$work/cm/consumer_shared"
"$work/cm/consumer_static"
echo "install consumer: ok"
