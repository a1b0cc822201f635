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
echo "   the handler hands the raw frames to \`faststack run\`, which prints the"
echo "   faulting thread's traceback with names, lines and source; then the"
echo "   program dies of its own signal (exit status 139 below is expected):"
set +e
"$build/tools/faststack" run -- "$build/examples/crash_example" 2>&1
rc=$?
set -e
echo "(exit status $rc — the program's own: 128 + SIGSEGV)"
echo "docs/crash.md has more."

echo
echo "-- the same crash printed by the handler alone (no process to symbolize:"
echo "   raw frames: module, offset, build-id), annotated afterwards, offline:"
echo "   FASTSTACK_SYMBOLIZER=none faststack run --exec ./crash_example 2>&1 |"
echo "     faststack symbolize --format go --source"
set +e
report=$(mktemp)
FASTSTACK_SYMBOLIZER=none "$build/tools/faststack" run --exec -- \
  "$build/examples/crash_example" >"$report" 2>&1
"$build/tools/faststack" symbolize --format go --source <"$report"
rm -f "$report"
set -e
