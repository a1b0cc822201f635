#!/usr/bin/env bash
# Runs every benchmark of `make bench` — each bench_* executable under
# BUILD/bench (and its subdirectories), in name order — prints their
# tables, and writes them to bench/RESULTS.md with what a reader needs to
# judge them: the date, the commit, the machine (CPU model, cores, kernel,
# glibc, compiler) and the load average before and after. Then the
# README's measured section is regenerated from that file
# (scripts/bench_readme.py): no figure in the README is typed by hand.
# Usage: bench.sh [BUILD] [RESULTS] [README]
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
results=${2:-$root/bench/RESULTS.md}
readme=${3:-$root/README.md}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

load() { cut -d' ' -f1-3 /proc/loadavg; }
commit=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && ! git -C "$root" diff --quiet HEAD -- 2>/dev/null; then
  commit="$commit (with uncommitted changes)"
fi
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load_before=$(load)

# bench_corpus_* are the symbolize benchmark's inputs (programs it reads),
# not benchmarks.
benches=()
while IFS= read -r b; do benches+=("$b"); done < <(
  find "$build/bench" -maxdepth 2 -type f -name 'bench_*' -perm -u+x \
    ! -name 'bench_corpus_*' | sort)
[ ${#benches[@]} -gt 0 ] || { echo "bench.sh: no bench_* in $build/bench" >&2; exit 1; }
for b in "${benches[@]}"; do
  name=$(basename "$b")
  echo "== $name =="
  "$b" | tee "$tmp/$name"
  echo
done
load_after=$(load)

{
  echo "# Benchmark results"
  echo
  echo "Written by \`make bench\` (scripts/bench.sh); not edited by hand. The"
  echo "README's measured section is generated from this file"
  echo "(scripts/bench_readme.py); where the README or docs/ say otherwise,"
  echo "this file decides. Each benchmark's table follows verbatim."
  echo
  echo "| | |"
  echo "|---|---|"
  echo "| date | $date |"
  echo "| commit | $commit |"
  echo "| CPU | ${cpu:-unknown} |"
  echo "| cores | $(nproc) online ($(getconf _NPROCESSORS_CONF) configured) |"
  echo "| kernel | $(uname -sr) |"
  echo "| glibc | $(getconf GNU_LIBC_VERSION 2>/dev/null || echo unknown) |"
  echo "| compiler | $(cc --version 2>/dev/null | head -1) |"
  echo "| build | \`$build\` ($(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt" 2>/dev/null)) |"
  echo "| load average (1, 5, 15 min) before | $load_before |"
  echo "| load average (1, 5, 15 min) after | $load_after |"
  for b in "${benches[@]}"; do
    name=$(basename "$b")
    echo
    echo "## $name"
    echo
    echo '```'
    cat "$tmp/$name"
    echo '```'
  done
} > "$results"
echo "bench.sh: wrote $results"
python3 "$root/scripts/bench_readme.py" "$results" "$readme"
