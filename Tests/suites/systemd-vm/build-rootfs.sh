#!/usr/bin/env bash
# Builds (or finds in the cache) the systemd VM's disk: a Debian bookworm root
# file system from Debian's archive (debootstrap minbase + systemd as PID 1 +
# the packages a .deb's Depends field names + iproute2, which only the test
# needs to put the guest's NIC on the host port forward), plus the small
# initramfs that mounts it. Prints the cache directory holding rootfs.img,
# initrd.cpio, vmlinux and kver.
#
#   build-rootfs.sh KERNEL_DIR DEPENDS_PACKAGE...
#
# The cache key covers the kernel, the package list and this script, so a
# changed Depends field (or kernel) builds a new image; stale images are removed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
KDIR=$1; shift
DEPENDS=("$@")
CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/hyper-derp/systemd-vm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

VMLINUZ=$(ls "$KDIR"/boot/vmlinuz-* | head -1)
KVER=${VMLINUZ##*/vmlinuz-}
MODSRC=$KDIR/lib/modules/$KVER
packages=(systemd systemd-sysv iproute2 "${DEPENDS[@]}")
# Two cache levels: the debootstrapped tree (slow: downloads) keyed by the
# package list; the bootable image keyed also by kernel, agent and this script.
base_key=$(echo "bookworm $MIRROR ${packages[*]}" | md5sum | cut -c1-12)
key=$( { echo "$KVER $base_key"; cat "$0" "$HERE/agent.sh" "$HERE/hd-agent.service"; } | md5sum | cut -c1-12)
OUT=$CACHE_ROOT/image-$key
BASE=$CACHE_ROOT/debootstrap-$base_key.tar
if [ -s "$OUT/rootfs.img" ] && [ -s "$OUT/initrd.cpio" ] && [ -s "$OUT/vmlinux" ]; then
  echo "$OUT"; exit 0
fi
mkdir -p "$CACHE_ROOT"
for old in "$CACHE_ROOT"/image-* "$CACHE_ROOT"/debootstrap-*.tar; do
  [ -e "$old" ] && [ "$old" != "$OUT" ] && [ "$old" != "$BASE" ] && rm -rf "$old"
done
WORK=$(mktemp -d "$CACHE_ROOT/build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/root

# --- the root file system: Debian's packages only (plus our test agent)
if [ ! -s "$BASE" ]; then
  echo "build-rootfs: debootstrap bookworm (${packages[*]})" >&2
  include=$(IFS=,; echo "${packages[*]}")
  debootstrap --variant=minbase --include="$include" bookworm "$ROOT" "$MIRROR" > "$WORK/debootstrap.log" 2>&1 \
    || { tail -30 "$WORK/debootstrap.log" >&2; exit 1; }
  for p in "${packages[@]}"; do
    chroot "$ROOT" dpkg-query -W -f='${Status}' "$p" | grep -q "install ok installed" \
      || { echo "build-rootfs: $p is not installed in the root file system" >&2; exit 1; }
  done
  chroot "$ROOT" apt-get clean
  rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/locale/*
  tar -C "$ROOT" -cf "$BASE.tmp" . && mv "$BASE.tmp" "$BASE"
else
  mkdir -p "$ROOT" && tar -C "$ROOT" -xf "$BASE"
fi
echo hdvm > "$ROOT/etc/hostname"
: > "$ROOT/etc/machine-id"
# No udev in the guest: gettys would wait for device units that never appear.
for unit in serial-getty@ttyS0.service getty@tty1.service getty.target; do
  ln -sf /dev/null "$ROOT/etc/systemd/system/$unit"
done
install -m 0755 "$HERE/agent.sh" "$ROOT/usr/local/sbin/hd-agent"
install -m 0644 "$HERE/hd-agent.service" "$ROOT/etc/systemd/system/hd-agent.service"
ln -sf /etc/systemd/system/hd-agent.service "$ROOT/etc/systemd/system/multi-user.target.wants/hd-agent.service"
# The NIC's driver (no udev to autoload it); tls is NOT listed here: it must
# come from the package's own modules-load.d file.
printf 'virtio_net\n' > "$ROOT/etc/modules-load.d/hd-test-nic.conf"

# Debian's kernel modules for this kernel: only what the VM uses.
subs=(net/tls crypto arch/x86/crypto lib drivers/virtio drivers/block/virtio_blk.ko drivers/net/virtio_net.ko
  drivers/net/net_failover.ko net/core/failover.ko fs/ext4 fs/jbd2 fs/mbcache.ko drivers/char/hw_random)
# The initramfs only mounts the root disk.
initrd_subs=(drivers/virtio drivers/block/virtio_blk.ko fs/ext4 fs/jbd2 fs/mbcache.ko lib/crc16.ko crypto
  arch/x86/crypto/crc32c-intel.ko)
copy_modules() {  # copy_modules ROOT SUBTREE...
  local r=$1 s; shift
  mkdir -p "$r/lib/modules/$KVER/kernel"
  for s in "$@"; do
    [ -e "$MODSRC/kernel/$s" ] || continue
    mkdir -p "$r/lib/modules/$KVER/kernel/$(dirname "$s")"
    cp -r "$MODSRC/kernel/$s" "$r/lib/modules/$KVER/kernel/$s"
  done
  cp "$MODSRC"/modules.builtin* "$MODSRC"/modules.order "$r/lib/modules/$KVER/"
  depmod -b "$r" "$KVER"
}
copy_modules "$ROOT" "${subs[@]}"
du -sh "$ROOT" >&2
mkfs.ext4 -q -F -L hdroot -d "$ROOT" "$WORK/rootfs.img" 1536M > /dev/null

# --- initramfs: busybox + kmod, mounts /dev/vda and hands over to systemd
I=$WORK/initrd; mkdir -p "$I"/{bin,sbin,proc,sys,dev,newroot}
cp /bin/busybox "$I/bin/busybox"
for a in sh mount umount switch_root sleep cat echo mkdir; do ln -sf busybox "$I/bin/$a"; done
cp /usr/bin/kmod "$I/sbin/kmod"; ln -sf kmod "$I/sbin/modprobe"
for l in $(ldd /usr/bin/kmod | grep -o '/[^ ]*' | sort -u); do mkdir -p "$I$(dirname "$l")"; cp -L "$l" "$I$l"; done
copy_modules "$I" "${initrd_subs[@]}"
cat > "$I/init" <<'EOF'
#!/bin/sh
export PATH=/sbin:/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in virtio_pci virtio_blk ext4; do /sbin/modprobe $m || echo "initrd: modprobe $m failed"; done
for i in $(seq 50); do [ -b /dev/vda ] && break; sleep 0.1; done
mount -t ext4 -o rw /dev/vda /newroot || { echo "initrd: cannot mount /dev/vda"; sleep 2; echo o > /proc/sysrq-trigger; }
umount /proc /sys; umount /dev
exec switch_root /newroot /sbin/init
EOF
chmod +x "$I/init"
(cd "$I" && find . | cpio -o -H newc --quiet) > "$WORK/initrd.cpio"

# PVH boot of the uncompressed kernel: the bzImage's own XZ decompression costs seconds under TCG.
python3 - "$VMLINUZ" "$WORK/vmlinux" <<'PY'
import lzma, sys
d = open(sys.argv[1], 'rb').read()
xz = d.find(b'\xfd7zXZ\x00')
out = lzma.LZMADecompressor().decompress(d[xz:]) if xz >= 0 else b''
if out[:4] != b'\x7fELF':
    out = d   # not XZ: boot the bzImage itself
open(sys.argv[2], 'wb').write(out)
PY
echo "$KVER" > "$WORK/kver"
mkdir -p "$OUT"
mv "$WORK/rootfs.img" "$WORK/initrd.cpio" "$WORK/vmlinux" "$WORK/kver" "$OUT/"
echo "$OUT"
