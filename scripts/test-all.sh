#!/usr/bin/env bash
# The whole test suite (`make test`, and so CI): builds debug and release,
# runs every XCTest target (unit, loopback integration, generated-file drift),
# the kernel TLS tests inside a throw-away VM, and every shell-level suite in
# Tests/suites/*.sh, then prints one closing line "tests: N passed, M failed"
# summed over all of them.
#
# A suite in Tests/suites/ is a bash script run from the repository root after
# the builds; it prints one line per check starting with "PASS " or "FAIL " and
# exits non-zero when any check failed. A suite that exits non-zero without
# printing a FAIL line counts as one failure. Suites run in name order.
set -uo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
LOG_DIR=${TEST_LOG_DIR:-.build/test-logs}
mkdir -p "$LOG_DIR"

bash scripts/install-deps.sh || exit 1
$SWIFT build || exit 1
$SWIFT build -c release || exit 1

# XCTest only: the Swift Testing runner would close with "0 tests", which
# reads as "ran no test". The relay tests need many fds.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
$SWIFT test --disable-swift-testing 2>&1 | tee "$LOG_DIR/swift-test.log"
unit_rc=${PIPESTATUS[0]}
summary=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with [0-9]+ failures?" "$LOG_DIR/swift-test.log" | tail -1)
unit_total=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$summary")
unit_failed=$(sed -E 's/.*with ([0-9]+) failures?.*/\1/' <<<"$summary")
unit_total=${unit_total:-0}; unit_failed=${unit_failed:-0}
if [ "$unit_rc" -ne 0 ] && [ "$unit_failed" -eq 0 ]; then unit_failed=1; fi   # crash or build failure

bash Tests/vm/run-vm-tests.sh 2>&1 | tee "$LOG_DIR/vm-test.log"
vm_rc=${PIPESTATUS[0]}
vm_line=$(grep -E "^vm: [0-9]+ passed, [0-9]+ failed" "$LOG_DIR/vm-test.log" | tail -1)
vm_passed=$(sed -E 's/^vm: ([0-9]+) passed.*/\1/' <<<"$vm_line"); vm_passed=${vm_passed:-0}
vm_failed=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$vm_line"); vm_failed=${vm_failed:-0}
if [ "$vm_rc" -ne 0 ] && [ "$vm_failed" -eq 0 ]; then vm_failed=1; fi

# Shell-level suites (packaging, ACME, probes, region mesh, fuzz corpora ...).
suite_passed=0; suite_failed=0; suites_rc=0
for suite in Tests/suites/*.sh; do
  [ -e "$suite" ] || continue
  name=$(basename "$suite" .sh)
  start=$(date +%s)
  bash "$suite" 2>&1 | tee "$LOG_DIR/suite-$name.log"
  rc=${PIPESTATUS[0]}
  p=$(grep -c '^PASS ' "$LOG_DIR/suite-$name.log" || true)
  f=$(grep -c '^FAIL' "$LOG_DIR/suite-$name.log" || true)
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  [ "$rc" -ne 0 ] && suites_rc=1
  echo "suite $name: $p passed, $f failed ($(( $(date +%s) - start )) s)"
  suite_passed=$(( suite_passed + p )); suite_failed=$(( suite_failed + f ))
done

passed=$(( unit_total - unit_failed + vm_passed + suite_passed ))
failed=$(( unit_failed + vm_failed + suite_failed ))
echo
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$unit_rc" -eq 0 ] && [ "$vm_rc" -eq 0 ] && [ "$suites_rc" -eq 0 ]
