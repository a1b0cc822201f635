#!/usr/bin/env bash
# style.sh [CLANG_FORMAT] — fails when a C file of the tree differs from
# what clang-format makes of it (.clang-format). Run `clang-format -i` on
# the files it names. The DWARF fixtures are left as they are: the DWARF
# tests check their line numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
cf=${1:-clang-format}
if [ -d .git ] && command -v git >/dev/null; then
  mapfile -t files < <(git ls-files '*.c' '*.h' | grep -v '^tests/dwarf_fixture/')
else
  mapfile -t files < <(find src include tools tests bench fuzz examples \
    -name '*.[ch]' -not -path 'tests/dwarf_fixture/*' | sort)
fi
bad=0
for f in "${files[@]}"; do
  if ! "$cf" --style=file "$f" | cmp -s - "$f"; then
    echo "style: $f differs from clang-format's layout"
    bad=1
  fi
done
[ $bad -eq 0 ] && echo "style: ${#files[@]} files as clang-format lays them out"
exit $bad
