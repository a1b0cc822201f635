#!/usr/bin/env bash
# test_subproject_consumer: faststack embedded as a CMake subproject, by
# add_subdirectory and by FetchContent (tests/subproject): only the
# library is built, the parent's build type and warning flags rule, and
# consumers of both library targets build and run.
set -euo pipefail
src=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for how in add_subdirectory FetchContent; do
  echo "-- $how"
  cmake -S "$src/tests/subproject" -B "$work/$how" -DFASTSTACK_SOURCE="$src" \
    -DHOW="$how" > "$work/$how.log" || { cat "$work/$how.log"; exit 1; }
  cmake --build "$work/$how" -j2 --target consumer_shared consumer_static \
    > "$work/$how.build" || { tail -30 "$work/$how.build"; exit 1; }
  "$work/$how/consumer_shared"
  "$work/$how/consumer_static"
done
echo "subproject consumer: ok"
