#!/usr/bin/env bash
# Runs the demo programs of `make demo`.
set -euo pipefail
build=${1:-build}
echo "== faststack $("$build/tools/faststack" --version) demo =="
echo
echo "-- a raw trace captured in-process (module, module offset, build-id per frame):"
"$build/examples/demo"
