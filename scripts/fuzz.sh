#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD/fuzz for SECONDS each, starting from
# its seeds (fuzz/seeds/NAME) in a scratch corpus so the tree stays clean.
set -euo pipefail
build=${1:-build-fuzz}
secs=${2:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
status=0
for t in "$build"/fuzz/fuzz_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t"); name=${name#fuzz_}
  corpus="$build/fuzz-corpus/$name"
  mkdir -p "$corpus"
  seeds=()
  [ -d "$root/fuzz/seeds/$name" ] && seeds+=("$root/fuzz/seeds/$name")
  [ -d "$build/fuzz/seeds/$name" ] && seeds+=("$build/fuzz/seeds/$name")
  echo "fuzz_$name: ${secs}s"
  if ! "$t" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
        -artifact_prefix="$build/fuzz-$name-" \
        -print_final_stats=0 "$corpus" "${seeds[@]}" >"$build/fuzz-$name.log" 2>&1; then
    echo "fuzz_$name FAILED; tail of $build/fuzz-$name.log:"; tail -40 "$build/fuzz-$name.log"
    status=1
  else
    grep -E '^#[0-9]+.*DONE|Done [0-9]+ runs' "$build/fuzz-$name.log" | tail -1 || true
  fi
done
exit $status
