#!/usr/bin/env bash
# Runs the demo programs of `make demo`.
set -euo pipefail
build=${1:-build}
echo "== faststack $("$build/tools/faststack" --version) demo =="
echo
echo "-- a stack captured in-process (examples/demo.c), symbolized with inline"
echo "   frames and annotated with the source line of each frame:"
"$build/examples/demo"

echo
echo "-- a crash: an unmodified program run with \`faststack run\` dies of SIGSEGV;"
echo "   the handler prints the faulting thread's traceback, then the program"
echo "   dies of its own signal (exit status 139 below is expected):"
set +e
"$build/tools/faststack" run --table=sync -- "$build/examples/crash_example" 2>&1
rc=$?
set -e
echo "(exit status $rc — the program's own: 128 + SIGSEGV)"
echo "Frames the in-process table cannot name print raw (module+offset, build-id):"
echo "resolve them offline with faststack symbolize (below). docs/crash.md has more."

echo
echo "-- the same crash without the in-process table (raw frames: module,"
echo "   offset, build-id), annotated afterwards, offline:"
echo "   faststack run --no-table ./crash_example 2>&1 | faststack symbolize --format go --source"
set +e
report=$(mktemp)
"$build/tools/faststack" run --no-table -- "$build/examples/crash_example" >"$report" 2>&1
"$build/tools/faststack" symbolize --format go --source <"$report"
rm -f "$report"
set -e
