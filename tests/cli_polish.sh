#!/bin/bash
# test_cli_polish: the faststack command as a new user meets it.
#  - colour: `symbolize --format` paints on request (FORCE_COLOR), never
#    into a pipe otherwise, and NO_COLOR is honoured
#  - usage errors: each bad invocation fails with status 2 and says why
#  - help: `faststack help CMD` and `CMD --help` print the same text to
#    stdout, listing every option
# Output is compared exactly where it is output.
set -u
fs=$1 prog=$2 target=$3
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

# ---- usage errors: status 2 and the exact reason
usage_is() { # want-status want-stderr-first-line command...
  local st=$1 msg=$2
  shift 2
  "$fs" "$@" > "$d/out" 2> "$d/err" < /dev/null
  local got=$?
  local line
  line=$(head -1 "$d/err")
  if [ "$got" = "$st" ] && [ "$line" = "$msg" ]; then ok "$*: $line"
  else fail "$*: status $got (want $st), stderr '$line' (want '$msg')"; fi
}
usage_is 2 "faststack symbolize: unknown option '--bogus'" symbolize --bogus
usage_is 2 "faststack symbolize: unknown option '-q'" symbolize -q
usage_is 2 "faststack symbolize: --format must be go, gin or json, not 'xml'" symbolize --format xml
usage_is 2 "faststack symbolize: --source=N needs a number from 0 to 1000, not 'abc'" symbolize --source=abc
usage_is 2 "faststack symbolize: -e needs a FILE" symbolize -e
usage_is 2 "faststack profile: --hz needs a number from 1 to 10000, not 'abc'" profile --hz abc true
usage_is 2 "faststack profile: --hz 0 is out of range: 1 to 10000" profile --hz 0 true
usage_is 2 "faststack profile: --hz 100000 is out of range: 1 to 10000" profile --hz 100000 true
usage_is 2 "faststack profile: unknown option '--bogus'" profile --bogus true
usage_is 2 "faststack profile: no PROGRAM to run" profile
usage_is 2 "faststack profile: cannot write $d/nodir/x.pprof: No such file or directory" profile -o "$d/nodir/x.pprof" true
[ -e "$d/nodir" ] && fail "profile -o made something"
usage_is 127 "faststack profile: cannot run /nonexistent: No such file or directory" profile -o "$d/x.pprof" /nonexistent
usage_is 2 "faststack run: unknown option '--bogus'" run --bogus true
usage_is 2 "faststack run: --traceback must be none, single, all or crash, not 'some'" run --traceback=some true
usage_is 2 "faststack run: --table takes 'sync', not 'yes'" run --table=yes true
usage_is 2 "faststack run: no PROGRAM to run" run
usage_is 127 "faststack run: cannot run /nonexistent: No such file or directory" run /nonexistent
usage_is 2 "faststack modules: takes no arguments, not '123' (it lists its own process's modules)" modules 123
usage_is 2 "faststack help: unknown command 'bogus'" help bogus
usage_is 2 "faststack: unknown command 'bogus'" bogus
# -e failures say which: missing, not ELF, a directory.
usage_is 1 "faststack symbolize: '$d/none': No such file or directory" symbolize -e "$d/none" 0x1
echo text > "$d/text"
usage_is 1 "faststack symbolize: '$d/text': not an ELF file" symbolize -e "$d/text" 0x1
usage_is 1 "faststack symbolize: '$d': Is a directory" symbolize -e "$d" 0x1

# ---- help: to stdout, status 0, the same text both ways, every option
for cmd in modules profile run symbolize; do
  "$fs" help "$cmd" > "$d/h1" 2> "$d/h1e"; s1=$?
  "$fs" "$cmd" --help > "$d/h2" 2> "$d/h2e"; s2=$?
  if [ $s1 = 0 ] && [ $s2 = 0 ] && [ -s "$d/h1" ] && [ ! -s "$d/h1e" ] &&
     [ ! -s "$d/h2e" ] && cmp -s "$d/h1" "$d/h2"; then ok "help $cmd = $cmd --help, on stdout"
  else fail "help $cmd: status $s1/$s2, stderr $(cat "$d/h1e" "$d/h2e")"; fi
done
has_opts() {
  local cmd=$1
  shift
  "$fs" help "$cmd" > "$d/h"
  for o in "$@"; do
    grep -qe "$o" "$d/h" || fail "help $cmd lacks $o"
  done
}
has_opts modules --help
has_opts profile "-o FILE" "--hz N" --folded --help FASTSTACK_PROFILE_SIGNAL FASTSTACK_PRELOAD_DIR
has_opts run --traceback= --output= --dump-signal= --no-table --table=sync --registers --source --help FASTSTACK_PRELOAD_DIR
has_opts symbolize "-e, --exe" "-f, --functions" "-i, --inlines" "-C, --demangle" "-a, --addresses" "-p, --pretty-print" "-s, --basenames" --json "--source\[=N\]" "--format" "-h, --help"
"$fs" --help > "$d/top" && grep -q "faststack help COMMAND" "$d/top" && ok "top-level help" || fail "top-level help"

# ---- a program ended by SIGTERM or SIGINT still leaves its profile
for sig in TERM INT; do
  rm -f "$d/s.pprof"
  # A background job of a script starts with SIGINT ignored: give the
  # program the default action, as a terminal's foreground job has.
  PROF_UNIT=4000000000 env --default-signal=INT,TERM \
    "$fs" profile -o "$d/s.pprof" --hz 500 -- "$target" split &
  fp=$!
  child=""
  for i in $(seq 50); do child=$(pgrep -P $fp || true); [ -n "$child" ] && break; sleep 0.1; done
  sleep 1
  [ -n "$child" ] && kill -$sig "$child"
  for i in $(seq 100); do kill -0 $fp 2> /dev/null || break; sleep 0.1; done
  if kill -0 $fp 2> /dev/null; then
    fail "SIG$sig: the program did not end"
    [ -n "$child" ] && kill -KILL "$child"
  fi
  wait $fp
  st=$?
  want=$((128 + $(kill -l $sig)))
  if [ "$st" = "$want" ] && [ -s "$d/s.pprof" ] && gzip -t "$d/s.pprof"; then ok "SIG$sig: status $st and a profile"
  else fail "SIG$sig: status $st (want $want), profile $(ls -la "$d/s.pprof" 2>&1)"; fi
done

echo "test_cli_polish: $fails failed"
[ "$fails" = 0 ]
