#!/usr/bin/env bash
# Runs every benchmark of `make bench` and prints their tables.
set -euo pipefail
build=${1:-build}
for b in "$build"/bench/bench_*; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b") =="
  "$b"
  echo
done
