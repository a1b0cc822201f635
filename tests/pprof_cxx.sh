#!/bin/bash
# test_pprof_cxx: go tool pprof -top keeps two C++ template instances
# apart (double work<1>(double) 70, double work<2>(double) 30): the
# profile's names must not be simplified by pprof into one "work".
set -eu
cxx=$1 inc=$2 lib=$3 libs=$4 go=$5
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
export HOME=$d GOCACHE=$d/gocache PPROF_TMPDIR=$d GOTOOLCHAIN=local
"$cxx" -O1 -g -fno-omit-frame-pointer -I"$inc" "$(dirname "$0")/prof_cxx.cpp" \
  "$lib" $libs -o "$d/prof_cxx"
"$d/prof_cxx" "$d/p.pb.gz"
"$go" tool pprof -top -sample_index=samples "$d/p.pb.gz" > "$d/top.txt" 2>&1 || { cat "$d/top.txt"; exit 1; }
cat "$d/top.txt"
grep -Eq "^ +70 +70(\.00)?% .*work<1>\(double\)" "$d/top.txt" || { echo "FAIL: work<1> not its own line at 70"; exit 1; }
grep -Eq "^ +30 +30(\.00)?% .*work<2>\(double\)" "$d/top.txt" || { echo "FAIL: work<2> not its own line at 30"; exit 1; }
echo "test_pprof_cxx: ok"
