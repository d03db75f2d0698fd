#!/usr/bin/env bash
# Installs Hyper-DERP's files (`make install`, and the tree `make deb` packs):
# both binaries, the systemd unit (ExecStart pointing at BINDIR), the example
# configuration, the tls module for modules-load.d, bash/zsh/fish
# completions, the man pages and the docs.
#
#   BUILD_BIN=DIR PREFIX=/usr/local DESTDIR= scripts/install.sh
#
# BUILD_BIN holds hyper-derp and hdctl (make install builds them with the
# Swift runtime linked in, so the target needs no Swift toolchain).
# Directories follow PREFIX except where the tool reading them looks only in
# fixed places: systemd-modules-load reads /usr/lib (and /etc), never
# /usr/local; the configuration lives in SYSCONFDIR (/etc).
# An existing configuration file is kept (DESTDIR installs always get one).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BUILD_BIN:?BUILD_BIN must name the directory with hyper-derp and hdctl}"
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
BINDIR=${BINDIR:-$PREFIX/bin}
SYSCONFDIR=${SYSCONFDIR:-/etc}
DATADIR=${DATADIR:-$PREFIX/share}
MANDIR=${MANDIR:-$DATADIR/man}
DOCDIR=${DOCDIR:-$DATADIR/doc/hyper-derp}
UNITDIR=${UNITDIR:-$PREFIX/lib/systemd/system}
MODULESLOADDIR=${MODULESLOADDIR:-/usr/lib/modules-load.d}
BASHCOMPDIR=${BASHCOMPDIR:-$DATADIR/bash-completion/completions}
# zsh: Debian's vendor directory under /usr; site-functions is zsh's own default for other prefixes.
if [ "$PREFIX" = /usr ]; then ZSHCOMPDIR=${ZSHCOMPDIR:-$DATADIR/zsh/vendor-completions}
else ZSHCOMPDIR=${ZSHCOMPDIR:-$DATADIR/zsh/site-functions}; fi
FISHCOMPDIR=${FISHCOMPDIR:-$DATADIR/fish/vendor_completions.d}
# Strip the installed binaries (the .deb does; `make install STRIP=` keeps symbols).
STRIP=${STRIP-strip --strip-unneeded --remove-section=.comment --remove-section=.note}
GZIP_MAN=${GZIP_MAN:-1}

d() { install -d -m 0755 "$DESTDIR$1"; }
f() { install -m "$1" "$2" "$DESTDIR$3"; }   # f MODE SOURCE DEST

for dir in "$BINDIR" "$SYSCONFDIR/hyper-derp" "$UNITDIR" "$MODULESLOADDIR" "$BASHCOMPDIR" "$ZSHCOMPDIR" \
  "$FISHCOMPDIR" "$MANDIR/man5" "$MANDIR/man8" "$DOCDIR"; do
  d "$dir"
done
for binary in hyper-derp hdctl; do
  f 0755 "$BUILD_BIN/$binary" "$BINDIR/$binary"
  [ -z "$STRIP" ] || $STRIP "$DESTDIR$BINDIR/$binary"
done
sed "s#/usr/local/bin/#$BINDIR/#g" etc/hyper-derp.service > "$DESTDIR$UNITDIR/hyper-derp.service"
chmod 0644 "$DESTDIR$UNITDIR/hyper-derp.service"
if [ -n "$DESTDIR" ] || [ ! -e "$SYSCONFDIR/hyper-derp/hyper-derp.yaml" ]; then
  f 0644 packaging/hyper-derp.yaml "$SYSCONFDIR/hyper-derp/hyper-derp.yaml"
else
  echo "install: keeping the existing $SYSCONFDIR/hyper-derp/hyper-derp.yaml"
fi
f 0644 etc/modules-load.d/hyper-derp.conf "$MODULESLOADDIR/hyper-derp.conf"
f 0644 completions/hdctl.bash "$BASHCOMPDIR/hdctl"
f 0644 completions/hyper-derp.bash "$BASHCOMPDIR/hyper-derp"
f 0644 completions/_hdctl "$ZSHCOMPDIR/_hdctl"
f 0644 completions/_hyper-derp "$ZSHCOMPDIR/_hyper-derp"
f 0644 completions/hdctl.fish "$FISHCOMPDIR/hdctl.fish"
f 0644 completions/hyper-derp.fish "$FISHCOMPDIR/hyper-derp.fish"
for page in man/*.[0-9]; do
  section=${page##*.}
  dest=$DESTDIR$MANDIR/man$section/$(basename "$page")
  install -m 0644 "$page" "$dest"
  [ "$GZIP_MAN" = 1 ] && gzip -9nf "$dest"
done
f 0644 docs/config-reference.md "$DOCDIR/config-reference.md"
f 0644 etc/sysctl.d/60-hyper-derp.conf "$DOCDIR/60-hyper-derp.conf.example"
f 0644 packaging/copyright "$DOCDIR/copyright"
echo "install: hyper-derp and hdctl in $DESTDIR$BINDIR, unit in $DESTDIR$UNITDIR"
