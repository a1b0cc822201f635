#!/bin/bash
# test_profile_cli: `faststack profile` on tests/prof_target.c.
#  - the exit status passes through (7)
#  - go tool pprof -raw and -traces accept the profile
#  - hot_a : hot_b is 70:30 of their sum within +-10 percentage points
#    (sampling noise at ~1000 Hz over ~1 s is ~+-2 points; the margin
#    absorbs scheduler noise on a loaded 2-core machine)
#  - hot_thread (a thread created after start) has samples
#  - the folded output sums to the pprof sample count order of magnitude
#    and every line is "frames count"
#  - fork + exec: the child's profile lands in FILE.PID, the exec'd image
#    writes FILE, and both are valid
set -eu
fs=$1 target=$2 go=$3
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
export HOME=$d GOCACHE=$d/gocache PPROF_TMPDIR=$d GOTOOLCHAIN=local
fail() { echo "FAIL: $*"; exit 1; }

set +e
"$fs" profile -o "$d/p.pb.gz" --hz 1000 -- "$target" split
st=$?
set -e
[ "$st" = 7 ] || fail "exit status $st, want 7"
"$go" tool pprof -raw "$d/p.pb.gz" > "$d/raw.txt" 2>&1 || { cat "$d/raw.txt"; fail "-raw"; }
"$go" tool pprof -traces "$d/p.pb.gz" > /dev/null 2>&1 || fail "-traces"
"$go" tool pprof -top -nodecount=30 -sample_index=samples "$target" "$d/p.pb.gz" > "$d/top.txt" 2>&1 || { cat "$d/top.txt"; fail "-top"; }
cat "$d/top.txt"
flat() { awk -v f="$1" '$NF == f {print $1; exit}' "$d/top.txt"; }
a=$(flat hot_a); b=$(flat hot_b); t=$(flat hot_thread)
[ -n "$a" ] && [ -n "$b" ] || fail "hot_a/hot_b missing"
[ -n "$t" ] && [ "$t" -gt 0 ] || fail "hot_thread (created after start) not sampled"
share=$(( 100 * a / (a + b) ))
echo "hot_a share of hot_a+hot_b: $share% (want 70 +-10)"
[ "$share" -ge 60 ] && [ "$share" -le 80 ] || fail "share $share"

"$fs" profile -o "$d/p.folded" --folded --hz 1000 -- "$target" split || true
total=$(awk '{s += $NF} END {print s+0}' "$d/p.folded")
bad=$(awk '$NF !~ /^[0-9]+$/ || NF < 2' "$d/p.folded" | wc -l)
[ "$bad" = 0 ] || fail "malformed folded lines"
grep -q ";hot_a [0-9]*$" "$d/p.folded" || fail "folded output lacks hot_a as a leaf"
samples=$(awk '/^Samples:/{on=1; next} /^Locations/{on=0} on && $1 ~ /^[0-9]+$/ {s += $1} END {print s+0}' "$d/raw.txt")
echo "pprof samples: $samples, folded total: $total"
[ "$total" -gt 0 ] || fail "empty folded profile"
# Both runs burn the same CPU: totals agree within a factor of 1.5.
[ $(( total * 3 )) -ge $(( samples * 2 )) ] && [ $(( samples * 3 )) -ge $(( total * 2 )) ] || fail "folded total $total vs pprof $samples"

set +e
"$fs" profile -o "$d/f.pb.gz" --hz 1000 -- "$target" fork
st=$?
set -e
[ "$st" = 7 ] || fail "fork/exec run: status $st"
ls "$d"/f.pb.gz.* > /dev/null 2>&1 || fail "no child profile f.pb.gz.PID"
for f in "$d"/f.pb.gz "$d"/f.pb.gz.*; do
  "$go" tool pprof -raw "$f" > /dev/null 2>&1 || fail "$f rejected"
done
"$go" tool pprof -top -sample_index=samples "$target" "$d"/f.pb.gz.* 2>&1 | grep -q hot_child || fail "child profile lacks hot_child"
# A snapshot on FASTSTACK_PROFILE_SIGNAL while the program keeps running;
# the final profile at exit replaces it.
set +e
FASTSTACK_PROFILE_SIGNAL=SIGUSR2 "$fs" profile -o "$d/s.pb.gz" --hz 1000 -- "$target" snapshot > "$d/snap.out"
st=$?
set -e
[ "$st" = 7 ] || fail "snapshot run: status $st (9: no snapshot while running)"
grep -q "snapshot: [1-9][0-9]* bytes while running" "$d/snap.out" || fail "no snapshot: $(cat "$d/snap.out")"
"$go" tool pprof -top -sample_index=samples "$d/s.pb.gz" 2>&1 | grep -q hot_b || fail "final profile lacks hot_b"
echo "test_profile_cli: ok"
