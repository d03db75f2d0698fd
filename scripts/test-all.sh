#!/usr/bin/env bash
# The whole test suite (`make test`, and so CI): builds debug and release,
# runs every XCTest target (unit, loopback integration, generated-file drift)
# and the kernel TLS tests inside a throw-away VM, then prints one closing
# line "tests: N passed, M failed" summed over both.
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

passed=$(( unit_total - unit_failed + vm_passed ))
failed=$(( unit_failed + vm_failed ))
echo
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$unit_rc" -eq 0 ] && [ "$vm_rc" -eq 0 ]
