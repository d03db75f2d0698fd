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
if ! (cd "$REPO" && $SWIFT build "${BUILD[@]}" --product hd-tls-check > /tmp/hd-tls-check-build.log 2>&1); then
  grep -E "error" /tmp/hd-tls-check-build.log | sort -u | head -20 >&2
  echo "vm tests: FAIL (release build of hd-tls-check)" >&2
  exit 1
fi
BIN=$(cd "$REPO" && $SWIFT build "${BUILD[@]}" --show-bin-path)/hd-tls-check
[ -x "$BIN" ] || { echo "vm tests: $BIN missing" >&2; exit 1; }

PAYLOAD=$(mktemp -d)
trap 'rm -rf "$PAYLOAD"' EXIT
cp "$BIN" "$PAYLOAD/"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=localhost -keyout "$PAYLOAD/key.pem" -out "$PAYLOAD/cert.pem" 2>/dev/null
cat > "$PAYLOAD/run.sh" <<'VM'
#!/bin/sh
# Inside the VM: kernel TLS first (must be used), then userspace TLS on the same kernel.
set -e
grep -q '^tls ' /proc/modules || { echo "FAIL tls module not loaded"; exit 1; }
echo "== ktls: required (kernel TLS)"
./hd-tls-check --cert cert.pem --key key.pem --ktls required --expect-kernel --workers 2
echo "== ktls: off (userspace TLS)"
./hd-tls-check --cert cert.pem --key key.pem --ktls off --workers 1
echo "== /proc/net/tls_stat"
cat /proc/net/tls_stat
VM
chmod +x "$PAYLOAD/run.sh"

run_vm() { bash "$TOOLS/vmrun.sh" -r 1024 -t 300 -d "$PAYLOAD" -- ./run.sh; }
set +e
run_vm
rc=$?
if [ $rc -eq 125 ]; then   # the VM itself died (about 1 boot in 80): retry once
  echo "vm tests: VM failed to boot (125), retrying once" >&2
  run_vm
  rc=$?
fi
set -e
if [ $rc -eq 0 ]; then echo "vm tests: PASS"; else echo "vm tests: FAIL (rc=$rc)"; fi
exit $rc
