#!/usr/bin/env bash
# make check-deb: builds the Debian packages (libfaststack0,
# libfaststack-dev, faststack) from a copy of the tree with
# `dpkg-buildpackage -us -uc -b`, checks what each one holds (dpkg-deb),
# unpacks them into a scratch root, and builds and runs a consumer against
# that root: pkg-config (shared and static) and find_package. The command
# from the root must run a program under its preload.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "check-deb: FAIL: $*" >&2; exit 1; }

echo "== dpkg-buildpackage (a copy of the tree in $work)"
mkdir "$work/faststack"
(cd "$src" && git ls-files -z --cached --others --exclude-standard |
  xargs -0 cp --parents -t "$work/faststack" 2> /dev/null) ||
  (cd "$src" && tar --exclude='./build*' --exclude=./.git -cf - . |
   tar -C "$work/faststack" -xf -)
(cd "$work/faststack" &&
  DEB_BUILD_OPTIONS="parallel=${JOBS:-2} nocheck" \
  dpkg-buildpackage -us -uc -b > "$work/build.log" 2>&1) ||
  { tail -40 "$work/build.log"; fail "dpkg-buildpackage"; }
arch=$(dpkg --print-architecture)
multi=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
for p in libfaststack0 libfaststack-dev faststack; do
  ls "$work"/${p}_*_"$arch".deb > /dev/null 2>&1 || fail "no $p package"
done

echo "== contents"
has() { # package file...
  local deb
  deb=$(ls "$work"/$1_*_"$arch".deb)
  shift
  dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' > "$work/list"
  for f in "$@"; do
    grep -qx "$f" "$work/list" || fail "$(basename "$deb") lacks $f"
  done
  echo "ok: $(basename "$deb"): $*"
}
lib=/usr/lib/$multi
has libfaststack0 "$lib/libfaststack.so.0" "$lib/libfaststack.so.0.1.0"
has libfaststack-dev /usr/include/faststack.h "$lib/libfaststack.so" \
  "$lib/libfaststack.a" "$lib/pkgconfig/faststack.pc" \
  "$lib/cmake/faststack/faststackConfig.cmake"
has faststack /usr/bin/faststack "$lib/faststack/libfaststack_preload.so" \
  "$lib/faststack/libfaststack_profile.so"
dpkg-deb -f "$work"/libfaststack-dev_*.deb Depends | grep -q "libfaststack0 (= " ||
  fail "libfaststack-dev does not depend on the exact libfaststack0"
dpkg-deb -f "$work"/faststack_*.deb Depends | grep -q "libc6" ||
  fail "faststack has no shlibs dependencies"

echo "== a consumer against the unpacked packages"
root=$work/root
for d in "$work"/*.deb; do dpkg -x "$d" "$root"; done
# The .pc file finds its prefix from its own place: no sysroot needed.
export PKG_CONFIG_PATH=$root$lib/pkgconfig
cc -o "$work/c_shared" "$src/tests/consumer/consumer.c" \
  $(pkg-config --cflags --libs faststack)
LD_LIBRARY_PATH=$root$lib "$work/c_shared"
cc -static-libgcc -o "$work/c_static" "$src/tests/consumer/consumer.c" \
  $(pkg-config --cflags faststack) "$root$lib/libfaststack.a" \
  $(pkg-config --static --libs-only-l faststack | sed 's/-lfaststack//')
"$work/c_static"
cmake -S "$src/tests/consumer" -B "$work/cm" -DCMAKE_PREFIX_PATH="$root/usr" \
  > "$work/cm.log" || { cat "$work/cm.log"; fail "find_package"; }
cmake --build "$work/cm" > "$work/cm.build" || { cat "$work/cm.build"; fail "find_package build"; }
LD_LIBRARY_PATH=$root$lib "$work/cm/consumer_shared"
"$work/cm/consumer_static"
"$root/usr/bin/faststack" --version | grep -qx "0.1.0" || fail "faststack --version"
"$root/usr/bin/faststack" run -- /bin/true || fail "faststack run from the package"
echo "check-deb: ok"
