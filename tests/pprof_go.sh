#!/bin/bash
# test_pprof_go: a profile of two known stacks (70 and 30 samples) written
# by faststack_write_pprof must pass `go tool pprof -raw`, `-traces` and
# `-top`; the folded file must sum to 100 samples.
set -eu
bin=$1 go=$2
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
# go tool pprof needs a writable HOME/cache and must not go to the network.
export HOME=$d GOCACHE=$d/gocache PPROF_TMPDIR=$d GOFLAGS=-mod=mod GOTOOLCHAIN=local
"$bin" "$d/p.pb.gz" "$d/p.folded"
gzip -t "$d/p.pb.gz"
sum=$(awk '{s += $NF} END {print s}' "$d/p.folded")
[ "$sum" = 100 ] || { echo "folded sum $sum != 100"; cat "$d/p.folded"; exit 1; }
"$go" tool pprof -raw "$d/p.pb.gz" > "$d/raw.txt" 2>&1 || { cat "$d/raw.txt"; exit 1; }
grep -q "PeriodType: cpu nanoseconds" "$d/raw.txt" || { cat "$d/raw.txt"; exit 1; }
"$go" tool pprof -traces "$d/p.pb.gz" > "$d/traces.txt" 2>&1 || { cat "$d/traces.txt"; exit 1; }
"$go" tool pprof -top -sample_index=samples "$bin" "$d/p.pb.gz" > "$d/top.txt" 2>&1 || { cat "$d/top.txt"; exit 1; }
cat "$d/top.txt"
grep -Eq "70 +70(\.00)?%.*cap_hot_a" "$d/top.txt" || { echo "cap_hot_a not at 70%"; exit 1; }
grep -Eq "30 +30(\.00)?%.*cap_hot_b" "$d/top.txt" || { echo "cap_hot_b not at 30%"; exit 1; }
# The names come from the profile itself (faststack's symbolizer), not
# from pprof reading the binary: without the binary argument, and in the
# folded output.
"$go" tool pprof -top -sample_index=samples "$d/p.pb.gz" > "$d/top2.txt" 2>&1 || { cat "$d/top2.txt"; exit 1; }
grep -Eq "70 +70(\.00)?%.*cap_hot_a" "$d/top2.txt" || { echo "no function names in the profile"; cat "$d/top2.txt"; exit 1; }
grep -q "__libc_start_call_main" "$d/top2.txt" || { echo "libc frames unnamed"; cat "$d/top2.txt"; exit 1; }
grep -Eq "(^|;)main;cap_hot_a 70$" "$d/p.folded" || { echo "folded lacks names"; cat "$d/p.folded"; exit 1; }
echo "test_pprof_go: ok"
