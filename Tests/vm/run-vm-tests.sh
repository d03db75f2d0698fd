#!/usr/bin/env bash
# Kernel TLS tests inside a throw-away VM (the host kernel has no kTLS).
# Boots Debian's 6.1 kernel (which ships tls.ko) under QEMU with
# ../shared/tools/ktls-vm, and runs hd-tls-check there: an in-process relay
# with `ktls: required` must start, TLS 1.3 and 1.2 clients exchange packets
# of 0…65536 bytes, every relay connection installs kernel TX and RX keys
# (relay counters and /proc/net/tls_stat), and clients that send close_notify
# or an alert mid-stream are closed while the others keep flowing.
# The same binary also runs `--ktls off` there (userspace TLS on that kernel).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
TOOLS=${KTLSVM_TOOLS:-$REPO/../shared/tools/ktls-vm}
SWIFT=${SWIFT:-swift}
[ -x "$TOOLS/vmrun.sh" ] || { echo "vm tests: ktls-vm tool not found at $TOOLS (set KTLSVM_TOOLS)" >&2; exit 1; }

# Host packages (qemu, busybox, kmod, cpio, lz4) come with scripts/install-deps.sh;
# setup.sh is idempotent and fetches the Debian 6.1 kernels once (~/.cache/ktls-vm).
bash "$REPO/scripts/install-deps.sh"
bash "$TOOLS/setup.sh" > /tmp/ktls-vm-setup.log 2>&1 || { cat /tmp/ktls-vm-setup.log >&2; exit 1; }

# Release build of the checker (a no-op when `make test` already built release).
# SCRATCH_PATH: build elsewhere than .build (parallel work on one tree).
BUILD=(-c release ${SCRATCH_PATH:+--scratch-path "$SCRATCH_PATH"})
for product in hd-tls-check hyper-derp; do
  if ! (cd "$REPO" && $SWIFT build "${BUILD[@]}" --product $product > /tmp/$product-build.log 2>&1); then
    grep -E "error" /tmp/$product-build.log | sort -u | head -20 >&2
    echo "vm tests: FAIL (release build of $product)" >&2
    exit 1
  fi
done
BINDIR=$(cd "$REPO" && $SWIFT build "${BUILD[@]}" --show-bin-path)
BIN=$BINDIR/hd-tls-check
DAEMON=$BINDIR/hyper-derp
[ -x "$BIN" ] && [ -x "$DAEMON" ] || { echo "vm tests: binaries missing in $BINDIR" >&2; exit 1; }

PAYLOAD=$(mktemp -d)
trap 'rm -rf "$PAYLOAD"' EXIT
cp "$BIN" "$DAEMON" "$PAYLOAD/"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=localhost -keyout "$PAYLOAD/key.pem" -out "$PAYLOAD/cert.pem" 2>/dev/null
cat > "$PAYLOAD/ktls-required.yaml" <<YAML
port: 3443
bind: [127.0.0.1]
workers: 2
tls_cert: /payload/cert.pem
tls_key: /payload/key.pem
ktls: required
log_level: info
YAML

# On this host (no kernel TLS) the daemon must refuse `ktls: required`, naming the fix.
if [ ! -e /proc/net/tls_stat ]; then
  set +e
  sed "s#/payload/#$PAYLOAD/#" "$PAYLOAD/ktls-required.yaml" > "$PAYLOAD/host.yaml"
  "$DAEMON" --config "$PAYLOAD/host.yaml" > "$PAYLOAD/host-refusal.log" 2>&1 &
  pid=$!
  for _ in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
  if kill -0 $pid 2>/dev/null; then kill $pid; wait $pid; echo "FAIL host: ktls: required started without kernel TLS"; exit 1; fi
  wait $pid; rc=$?
  set -e
  if [ $rc -ne 0 ] && grep -q "modprobe tls" "$PAYLOAD/host-refusal.log" && grep -q "modules-load.d" "$PAYLOAD/host-refusal.log"; then
    echo "PASS host: ktls: required refuses to start without kernel TLS (exit $rc, names modprobe tls + /etc/modules-load.d)"
  else
    echo "FAIL host: expected a refusal naming the fix, got exit $rc:"; cat "$PAYLOAD/host-refusal.log"; exit 1
  fi
  rm -f "$PAYLOAD/host-refusal.log" "$PAYLOAD/host.yaml"
fi
cat > "$PAYLOAD/run.sh" <<'VM'
#!/bin/sh
# Inside the VM: kernel TLS first (must be used), then userspace TLS on the same kernel.
set -e
grep -q '^tls ' /proc/modules || { echo "FAIL tls module not loaded"; exit 1; }
echo "== ktls: required (kernel TLS)"
./hd-tls-check --cert cert.pem --key key.pem --ktls required --expect-kernel --workers 2
echo "== hyper-derp daemon with ktls: required"
./hyper-derp --config ktls-required.yaml > daemon.log 2>&1 &
pid=$!
for i in $(seq 100); do grep -q "TLS on the DERP port" daemon.log && break; sleep 0.1; done
grep "TLS on the DERP port" daemon.log || { echo "FAIL daemon did not start:"; cat daemon.log; exit 1; }
grep -q "TLS on the DERP port: kernel TLS" daemon.log || { echo "FAIL daemon not in kernel TLS mode"; exit 1; }
./hd-tls-check --connect 3443 --expect-kernel
kill $pid; wait $pid || true
echo "== ktls: off (userspace TLS)"
./hd-tls-check --cert cert.pem --key key.pem --ktls off --workers 1
echo "== /proc/net/tls_stat"
cat /proc/net/tls_stat
VM
chmod +x "$PAYLOAD/run.sh"

run_vm() { bash "$TOOLS/vmrun.sh" -r 1024 -t 300 -d "$PAYLOAD" -- ./run.sh; }
# Runs one VM suite, retrying once when the VM itself died (exit 125: about
# 1 boot in 80); its output is kept for the PASS/FAIL count below.
run_suite() {  # run_suite NAME COMMAND...
  local name=$1; shift
  local rc
  "$@" 2>&1 | tee "$LOGS/$name.log"; rc=${PIPESTATUS[0]}
  if [ "$rc" -eq 125 ]; then
    echo "vm tests: $name: VM failed to boot (125), retrying once" >&2
    "$@" 2>&1 | tee "$LOGS/$name.log"; rc=${PIPESTATUS[0]}
  fi
  echo "vm tests: $name: $([ "$rc" -eq 0 ] && echo PASS || echo "FAIL (rc=$rc)")"
  return "$rc"
}
LOGS=$(mktemp -d)
set +e
run_suite ktls run_vm; rc_ktls=$?
# hdctl doctor and tune against the VM's real kernel TLS module and /proc/sys.
run_suite doctor bash "$REPO/Tests/HDOpsTests/vm/doctor-in-vm.sh"; rc_doctor=$?
set -e
# One closing line for scripts/test-all.sh: every PASS/FAIL line the suites
# printed, plus a failure for a suite that died without saying FAIL.
passed=$(cat "$LOGS"/*.log | grep -c '^PASS ' || true)
failed=$(cat "$LOGS"/*.log | grep -c '^FAIL' || true)
for rc in $rc_ktls $rc_doctor; do
  if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
done
rm -rf "$LOGS"
echo "vm: $passed passed, $failed failed"
[ "$rc_ktls" -eq 0 ] && [ "$rc_doctor" -eq 0 ]
