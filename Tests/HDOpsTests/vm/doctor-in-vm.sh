#!/usr/bin/env bash
# hdctl doctor and tune on a real kernel with kernel TLS: boots the ktls-vm
# (Debian 6.1 with tls.ko, see ../shared/tools/ktls-vm) and checks there that
#  - doctor's live probes see the tls module, TCP_ULP "tls" works on a real
#    loopback connection, /proc/net/tls_stat is read, io_uring sets up;
#  - tune --apply --persist writes the real /proc/sys and /etc of the VM, and
#    --revert puts every value and file back.
# Usage: bash Tests/HDOpsTests/vm/doctor-in-vm.sh   (SCRATCH_PATH=... to build elsewhere)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
TOOLS=${KTLSVM_TOOLS:-$REPO/../shared/tools/ktls-vm}
SWIFT=${SWIFT:-swift}
[ -x "$TOOLS/vmrun.sh" ] || { echo "doctor-in-vm: ktls-vm tool not found at $TOOLS" >&2; exit 1; }
bash "$TOOLS/setup.sh" > /tmp/ktls-vm-setup.log 2>&1 || { cat /tmp/ktls-vm-setup.log >&2; exit 1; }

BUILD=(${SCRATCH_PATH:+--scratch-path "$SCRATCH_PATH"})
(cd "$REPO" && $SWIFT build "${BUILD[@]}" --product hdctl > /tmp/hdctl-vm-build.log 2>&1) || {
  grep -E "error" /tmp/hdctl-vm-build.log | sort -u | head -20 >&2; echo "doctor-in-vm: FAIL (build)" >&2; exit 1; }
BIN=$(cd "$REPO" && $SWIFT build "${BUILD[@]}" --show-bin-path)/hdctl

PAYLOAD=$(mktemp -d)
trap 'rm -rf "$PAYLOAD"' EXIT
cp "$BIN" "$PAYLOAD/"
cat > "$PAYLOAD/run.sh" <<'VM'
#!/bin/sh
# Inside the VM (root, throw-away): every line that must hold prints PASS or FAIL.
ip link set lo up 2>/dev/null
fail=0
expect() {  # expect CODE STATUS: the JSON line of that check has that status
  if ./hdctl doctor --json --only "$1" | grep -q "\"status\" : \"$2\""; then echo "PASS $1 $2"; else echo "FAIL $1 not $2"; ./hdctl doctor --only "$1"; fail=1; fi
}
expect KTLS_MODULE ok
expect KTLS_PROBE ok
expect KTLS_STATS ok
expect IOURING_SETUP ok
expect KTLS_BOOT warning
NO_COLOR=1 ./hdctl doctor; echo "doctor exit $?"

snapshot() { for k in net/core/somaxconn net/core/netdev_max_backlog net/ipv4/tcp_max_syn_backlog net/core/rmem_max; do printf '%s=%s\n' $k "$(cat /proc/sys/$k)"; done; ls /etc/sysctl.d /etc/modules-load.d /var/lib/hyper-derp 2>&1; }
before=$(snapshot)
./hdctl tune --apply --persist || fail=1
[ "$(cat /proc/sys/net/core/somaxconn)" -ge 8192 ] && echo "PASS somaxconn raised in the real /proc/sys" || { echo "FAIL somaxconn"; fail=1; }
grep -qx tls /etc/modules-load.d/hyper-derp.conf && echo "PASS modules-load.d written" || { echo "FAIL modules-load.d"; fail=1; }
expect KTLS_BOOT ok
./hdctl tune --revert || fail=1
after=$(snapshot)
[ "$before" = "$after" ] && echo "PASS --revert restored /proc/sys and /etc" || { echo "FAIL revert"; echo "$before"; echo "$after"; fail=1; }
exit $fail
VM
chmod +x "$PAYLOAD/run.sh"

run_vm() { bash "$TOOLS/vmrun.sh" -r 1024 -t 300 -d "$PAYLOAD" -- ./run.sh; }
set +e
run_vm; rc=$?
if [ $rc -eq 125 ]; then echo "doctor-in-vm: VM failed to boot, retrying once" >&2; run_vm; rc=$?; fi
set -e
[ $rc -eq 0 ] && echo "doctor-in-vm: PASS" || echo "doctor-in-vm: FAIL ($rc)" >&2
exit $rc
