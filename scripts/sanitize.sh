#!/usr/bin/env bash
# `make sanitize`: the relay's integration tests (loopback, real io_uring,
# userspace TLS, mesh, metrics, verify_clients, reload) built and run under
# AddressSanitizer and ThreadSanitizer, each in its own scratch path
# (.build-asan, .build-tsan). Not in CI: a sanitizer build of the test
# targets takes several minutes per sanitizer on 2 cores and the runs are
# 2-10x slower (docs/robustness.md has the latest result and timings).
#   SANITIZERS   "address thread" (default)
#   SANITIZE_FILTER  XCTest filter (default: the integration suites below)
#   SANITIZE_NICE    nice level for the builds (default 0)
# Suppressions: Tests/sanitizers/tsan.supp (each entry says why).
set -uo pipefail
cd "$(dirname "$0")/.."
filter=${SANITIZE_FILTER:-"HDRelayTests|HDTLSTests.RelayTLSTests|HDTLSTests.BadInputTests|HDMetricsTests.Metrics(RelayIntegration|RelayTLS|DuringTraffic|STUN|Server)Tests|HDFuzzReplayTests"}
nice_level=${SANITIZE_NICE:-0}
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
export TSAN_OPTIONS="suppressions=$PWD/Tests/sanitizers/tsan.supp halt_on_error=0 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
# check_malloc_usable_size=0: libswiftCore (not instrumented) asks
# malloc_usable_size about its own startup allocations (CommandLine.arguments),
# which ASan then reports as "not owned" before any test runs; a toolchain
# interaction, not our memory.
export ASAN_OPTIONS="detect_leaks=1 check_malloc_usable_size=0 ${ASAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$PWD/Tests/sanitizers/lsan.supp ${LSAN_OPTIONS:-}"
failed=0
for s in ${SANITIZERS:-address thread}; do
  short=$([ "$s" = address ] && echo asan || echo tsan)
  log=.build-$short/sanitize.log
  mkdir -p ".build-$short"
  start=$(date +%s)
  if ! nice -n "$nice_level" swift build --build-tests --sanitize="$s" --scratch-path ".build-$short" >"$log" 2>&1; then
    echo "FAIL sanitize $s: build failed (see $log)"; failed=1; continue
  fi
  built=$(date +%s)
  swift test --skip-build --sanitize="$s" --scratch-path ".build-$short" --disable-swift-testing --filter "$filter" \
    >>"$log" 2>&1
  rc=$?
  reports=$(grep -cE "^(==[0-9]+==ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer)" "$log" || true)
  summary=$(grep -E "Executed [0-9]+ tests" "$log" | tail -1 | sed 's/^[[:space:]]*//')
  echo "sanitize $s: build $((built - start)) s, tests $(( $(date +%s) - built )) s: $summary; $reports sanitizer reports"
  if [ "$rc" -eq 0 ] && [ "$reports" -eq 0 ]; then
    echo "PASS sanitize $s"
  else
    echo "FAIL sanitize $s: test rc $rc, $reports sanitizer reports (see $log)"; failed=1
  fi
done
exit $failed
