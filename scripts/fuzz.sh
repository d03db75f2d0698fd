#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer binary (Fuzz/) and runs every target, or
# those named in FUZZ_TARGETS, for FUZZ_SECONDS each (or FUZZ_EXECS
# executions, whichever comes first), then writes executions, coverage and
# findings per target to a report.
#   FUZZ_BUILD    asan (default): debug (-Onone), -sanitize=fuzzer,address (with -O
#                 and ASan together libFuzzer gets no coverage, docs/robustness.md)
#                 fast: fuzzer only, optimised: debug configuration with -Xswiftc -O,
#                 -sanitize=fuzzer (no ASan: ~2-5x the executions; campaigns)
#   FUZZ_SECONDS  time per target (default 180)
#   FUZZ_EXECS    stop a target after this many executions (default: time only)
#   FUZZ_UNTIL    a time (`date -d` form, e.g. "02:37 UTC"): no target runs past
#                 it, and targets not started by then are reported as not run
#   FUZZ_TARGETS  space-separated target names (default: all)
#   FUZZ_JOBS     targets run at once (default 1; the machine is shared)
#   FUZZ_NICE     nice level (default 10)
#   FUZZ_REPORT   report path (default .build-fuzz/fuzz-report.md)
# The working corpus (what the fuzzer keeps) lives under ~/.cache/hyper-derp/fuzz
# and grows across runs; Fuzz/corpus holds the small committed seeds. A crash
# or broken invariant is copied to Fuzz/regressions/<target>/, where the replay
# test (Tests/HDFuzzReplayTests) fails on it until it is fixed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds=${FUZZ_SECONDS:-180}
nice_level=${FUZZ_NICE:-10}
jobs=${FUZZ_JOBS:-1}
work=${XDG_CACHE_HOME:-$HOME/.cache}/hyper-derp/fuzz
execs=${FUZZ_EXECS:-}
until_epoch=""
if [ -n "${FUZZ_UNTIL:-}" ]; then
  until_epoch=$(date -d "$FUZZ_UNTIL" +%s) || { echo "FAIL fuzz: FUZZ_UNTIL=$FUZZ_UNTIL is not a time"; exit 2; }
fi
build=${FUZZ_BUILD:-asan}
case "$build" in
  asan)
    scratch=$root/.build-fuzz
    build_flags=(--sanitize fuzzer --sanitize address)
    build_text="debug (-Onone), -sanitize=fuzzer,address"
    ;;
  fast)
    scratch=$root/.build-fuzz-o
    build_flags=(--sanitize fuzzer -Xswiftc -O)
    build_text="debug configuration + -Xswiftc -O, -sanitize=fuzzer (no ASan)"
    ;;
  *) echo "FAIL fuzz: FUZZ_BUILD must be asan or fast, not $build"; exit 2 ;;
esac
report=${FUZZ_REPORT:-$scratch/fuzz-report.md}
mkdir -p "$scratch" "$work" "$(dirname "$report")"

echo "fuzz: building Fuzz/ ($build_text)"
if ! (cd Fuzz && nice -n "$nice_level" swift build --scratch-path "$scratch" "${build_flags[@]}" \
        2>&1 | grep -v "Cannot export local symbol" | tail -3); then
  echo "FAIL fuzz build"; exit 1
fi
binary="$scratch/debug/hd-fuzz"
[ -x "$binary" ] || { echo "FAIL fuzz build: no $binary"; exit 1; }

all_targets=$(sed -n 's/^ *name: "\([a-z0-9-]*\)",$/\1/p' Sources/HDFuzzTargets/*Target.swift | sort)
targets=${FUZZ_TARGETS:-$all_targets}

# max_len per target, from the target's maxInputBytes.
max_len() {
  local file
  file=$(grep -l "name: \"$1\"" Sources/HDFuzzTargets/*Target.swift)
  sed -n 's/^ *maxInputBytes: \([0-9_]*\)$/\1/p' "$file" | tr -d _
}

run_target() {
  local t=$1 log="$scratch/$1.log" findings="$scratch/findings/$1/" limit=$seconds
  rm -rf "$findings" "$log"
  mkdir -p "$work/$t" "$findings"
  if [ -n "$until_epoch" ]; then
    left=$((until_epoch - $(date +%s)))
    if [ "$left" -lt 10 ]; then echo "fuzz: $t not run: FUZZ_UNTIL reached"; return; fi
    [ "$left" -lt "$limit" ] && limit=$left
  fi
  echo "fuzz: $t for ${limit}s${execs:+ or $execs executions} ($(date -u +%H:%M) UTC)"
  SWIFT_BACKTRACE=enable=no HD_FUZZ_TARGET=$t ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 nice -n "$nice_level" \
    "$binary" -max_total_time="$limit" ${execs:+-runs="$execs"} -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=3072 \
      -print_final_stats=1 -artifact_prefix="$findings" "$work/$t" "Fuzz/corpus/$t" >"$log" 2>&1
  echo $? >"$scratch/$t.rc"
}

running=0
for t in $targets; do
  run_target "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait

{
  echo "# Fuzz report $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Binary: Fuzz/ $build_text (FUZZ_BUILD=$build); ${seconds}s${execs:+ or $execs executions} per target; $jobs at a time; nice $nice_level; $(nproc) cores (shared)."
  echo
  echo "| target | executions | exec/s | coverage (edges) | features | corpus | peak RSS MB | findings |"
  echo "|---|---:|---:|---:|---:|---:|---:|---|"
} >"$report"
failed=0
for t in $targets; do
  log="$scratch/$t.log"
  if [ ! -e "$log" ]; then
    echo "| $t | not run (FUZZ_UNTIL) | | | | | | |" >>"$report"
    continue
  fi
  done_runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*' | tail -1)
  cov=$(echo "$last" | awk '{print $2}'); ft=$(echo "$last" | awk '{print $4}'); corp=$(echo "$last" | awk '{print $6}')
  found=""
  for f in "$scratch/findings/$t"/crash-* "$scratch/findings/$t"/leak-* "$scratch/findings/$t"/timeout-* "$scratch/findings/$t"/oom-*; do
    [ -e "$f" ] || continue
    mkdir -p "Fuzz/regressions/$t"
    cp "$f" "Fuzz/regressions/$t/"
    found="$found $(basename "$f")"
    rm -f "$f"
  done
  if [ -n "$found" ]; then
    failed=1
    why=$(grep -m1 -E "INVARIANT VIOLATED|ERROR: AddressSanitizer|Fatal error|ERROR: libFuzzer" "$log" | cut -c1-160)
    echo "FAIL fuzz $t:$found ($why)"
  else
    echo "PASS fuzz $t: ${done_runs:-?} executions, cov ${cov:-?}"
  fi
  echo "| $t | ${done_runs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | ${corp:-?} | ${rss:-?} | ${found:-none} |" >>"$report"
done
echo "fuzz: report in $report"
exit $failed
