#!/usr/bin/env bash
# Runs every benchmark of `make bench` and prints their tables: each
# bench_* executable under BUILD/bench (and its subdirectories), in name
# order.
set -euo pipefail
build=${1:-build}
find "$build/bench" -maxdepth 2 -type f -name 'bench_*' -perm -u+x | sort |
while read -r b; do
  echo "== $(basename "$b") =="
  "$b"
  echo
done
