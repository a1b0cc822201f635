#!/usr/bin/env bash
# Runs the tiers of `make check` in order (`make check-TIER` each), stops at
# the first that fails, and ends with a table: each tier's wall time and
# its ctest counts (passed, skipped, failed, total) — so a skipped test is
# visible in the summary, not only in ctest's scrollback.
# Usage: check.sh TIER...
set -uo pipefail
make=${MAKE:-make}
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
summary=()
status=0
for t in "$@"; do
  echo "==== make check-$t"
  start=$(date +%s)
  $make --no-print-directory "check-$t" 2>&1 | tee "$log/$t"
  rc=${PIPESTATUS[0]}
  secs=$(($(date +%s) - start))
  # ctest: "100% tests passed, 0 tests failed out of 53"; skipped tests
  # are listed under "The following tests did not run:" as "(Skipped)".
  counts=$(awk '
    /tests passed, [0-9]+ tests? failed out of [0-9]+/ {
      for (i = 1; i <= NF; i++) {
        if ($i == "failed") failed = $(i - 2)
        if ($i == "of") total = $(i + 1)
      }
    }
    /\(Skipped\)$/ { skipped++ }
    /^fuzz_[a-z_]+: [0-9]+s$/ { fuzz++ }
    END {
      if (total != "")
        printf "%d passed, %d skipped, %d failed of %d tests",
               total - failed - skipped, skipped, failed, total
      else if (fuzz) printf "%d fuzz targets", fuzz
    }' "$log/$t")
  summary+=("$(printf '%-8s %5d s  %s' "$t" "$secs" "${counts:-no test summary}")")
  if [ "$rc" -ne 0 ]; then
    summary+=("$(printf '%-8s FAILED (exit %d): later tiers not run' "$t" "$rc")")
    status=$rc
    break
  fi
done
echo
echo "==== make check: tiers"
printf '%s\n' "${summary[@]}"
exit $status
