#!/usr/bin/env bash
# The Debian package under a real systemd: builds hyper-derp N and N+1 with
# `make deb`, a clean bookworm root file system with debootstrap (systemd as
# PID 1, plus exactly the packages the .deb's Depends field names, read from
# the .deb; cached under ~/.cache/hyper-derp/systemd-vm), boots it under QEMU
# (TCG, Debian's 6.1 kernel from ../shared/tools/ktls-vm) and runs
# systemd-vm/scenario.py: install, Type=notify, hardening, io_uring, DERP from
# the host through a 127.0.0.1 port forward, reload, broken reload, restart,
# stop, journal (JSON), systemd-analyze, upgrade, reboot with tls from
# modules-load.d, kernel TLS on 443 under the hardened unit, remove, purge.
# Time: two boots under TCG; 6-13 minutes of VM on this shared 2-core machine
# (more under load); a cold cache adds the debootstrap download (~5 minutes).
set -uo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
TOOLS=${KTLSVM_TOOLS:-$REPO/../shared/tools/ktls-vm}
STATE=${KTLSVM_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/ktls-vm}
SWIFT=${SWIFT:-swift}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL systemd-vm: $1"; exit 1; }

bash scripts/install-deps.sh > "$WORK/deps.log" 2>&1 || { cat "$WORK/deps.log"; fail "install-deps"; }
[ -x "$TOOLS/setup.sh" ] || fail "ktls-vm tool not found at $TOOLS (set KTLSVM_TOOLS)"
FLAVOURS=generic bash "$TOOLS/setup.sh" > "$WORK/setup.log" 2>&1 || { cat "$WORK/setup.log"; fail "ktls-vm setup.sh"; }

version=$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' Sources/HDConfig/ProductVersion.swift)
for revision in 1 2; do
  make -s deb DEB_REVISION=$revision OUT_DIR="$WORK/payload" > "$WORK/deb-$revision.log" 2>&1 \
    || { tail -30 "$WORK/deb-$revision.log"; fail "make deb DEB_REVISION=$revision"; }
done
DEB=$WORK/payload/hyper-derp_${version}-1_amd64.deb
# The image gets what the package says it needs, and nothing else of ours.
depends=$(dpkg-deb -f "$DEB" Depends | tr ',' '\n' | sed -E 's/\|.*//; s/\(.*\)//; s/[[:space:]]//g' | grep -v '^$' | sort -u)
echo "systemd-vm: the image gets the .deb's Depends: $(echo $depends)"
image=$(bash Tests/suites/systemd-vm/build-rootfs.sh "$STATE/kernel-generic" $depends) || fail "building the bookworm image"

$SWIFT build -c release ${SCRATCH_PATH:+--scratch-path "$SCRATCH_PATH"} --product hd-tls-check > "$WORK/build.log" 2>&1 \
  || { tail -20 "$WORK/build.log"; fail "release build of hd-tls-check"; }
client=$($SWIFT build -c release ${SCRATCH_PATH:+--scratch-path "$SCRATCH_PATH"} --show-bin-path)/hd-tls-check
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj /CN=localhost \
  -keyout "$WORK/payload/key.pem" -out "$WORK/payload/cert.pem" 2>/dev/null
tar -C "$WORK/payload" -cf "$WORK/payload.tar" .

run() { timeout -k 10 1500 python3 Tests/suites/systemd-vm/scenario.py "$image" "$WORK/payload.tar" "$WORK" "$client" \
  "${version}-1" "${version}-2"; }
run; rc=$?
if [ $rc -eq 125 ]; then echo "systemd-vm: the VM did not boot; retrying once"; run; rc=$?; fi
[ $rc -eq 125 ] && fail "the VM did not boot twice in a row"
[ $rc -eq 124 ] && fail "the scenario timed out"
exit $rc
