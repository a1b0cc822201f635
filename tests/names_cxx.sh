#!/bin/bash
# test_names_cxx: a C++ program built with g++ and clang++ at -O2 prints
# its stack from a lambda that std::sort inlined. The lambda's frame is
# named with its enclosing function (g++ records no linkage name for it:
# the DWARF scopes around it name it), names are pruned, the frame line
# carries no second parameter list, and the filters hide the library's
# internals.
set -u
inc=$1 lib=$2 libs=$3
src=$(dirname "$0")/names_cxx.cpp
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
line=$(grep -n "// LAMBDA" "$src" | cut -d: -f1)
for cxx in g++ clang++; do
  command -v $cxx > /dev/null || { echo "skip: no $cxx"; continue; }
  $cxx -O2 -g -I"$inc" "$src" "$lib" $libs -o "$d/p_$cxx" || { fail "$cxx build"; continue; }
  FASTSTACK_NAMES= "$d/p_$cxx" > "$d/out_$cxx" 2>&1
  cat "$d/out_$cxx"
  first=$(sed -n 2p "$d/out_$cxx")
  case $cxx in
    g++) want="sorter(std::vector<int>&, std::map<std::string, int> const&)::{lambda…}::operator()(...) (inlined)" ;;
    clang++) want="sorter(std::vector<int>&, std::map<std::string, int> const&)::\$_0::operator()(int, int) const (inlined)" ;;
  esac
  [ "$first" = "$want" ] && echo "ok: $cxx: $first" || fail "$cxx: first frame '$first', want '$want'"
  sed -n 3p "$d/out_$cxx" | grep -q "names_cxx.cpp:$line\$" || fail "$cxx: not at line $line"
  grep -v 'operator()(\.\.\.)' "$d/out_$cxx" | grep -q ')(\.\.\.)' && fail "$cxx: a double parameter list"
  grep -q 'std::allocator\|__cxx11\|basic_string' "$d/out_$cxx" && fail "$cxx: unpruned names"
  FASTSTACK_HIDE_FUNCTIONS='std::__,__gnu_cxx::' FASTSTACK_PATHS=base \
    "$d/p_$cxx" > "$d/f_$cxx" 2>&1
  grep -q '^std::__\|^__gnu_cxx::' "$d/f_$cxx" && fail "$cxx: filtered frames printed"
  grep -q "^	names_cxx.cpp:$line\$" "$d/f_$cxx" || fail "$cxx: base-name paths"
  grep -q "^sorter(std::vector<int>&, std::map<std::string, int> const&)" "$d/f_$cxx" || fail "$cxx: sorter hidden"
done
echo "test_names_cxx: $fails failed"
[ $fails = 0 ]
