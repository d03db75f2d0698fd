#!/usr/bin/env bash
# Assembles hyper-derp_<version>_amd64.deb for Debian 12 (`make deb`) from
# binaries built with the Swift runtime linked in (BUILD_BIN):
# scripts/install.sh lays out the files under /usr, then the control file
# gets a Depends field computed by dpkg-shlibdeps from the binaries' own
# dynamic libraries (plus procps: the unit's ExecReload runs /bin/kill; kmod:
# the kernel loads the AES-GCM modules through /sbin/modprobe when the first
# kernel TLS key is installed, and minimal systems lack it), the
# maintainer scripts from packaging/debian, and dpkg-deb builds it.
#
#   BUILD_BIN=DIR [DEB_REVISION=1] [OUT_DIR=.] scripts/build-deb.sh
#
# Version: ProductVersion.current (Sources/HDConfig/ProductVersion.swift),
# Debian revision DEB_REVISION, so N and N+1 of the same code can be built.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BUILD_BIN:?BUILD_BIN must name the directory with hyper-derp and hdctl}"
OUT_DIR=${OUT_DIR:-.}
DEB_REVISION=${DEB_REVISION:-1}
MAINTAINER=${DEB_MAINTAINER:-Hyper-DERP maintainers <hyper-derp@example.org>}
upstream=$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' Sources/HDConfig/ProductVersion.swift)
[ -n "$upstream" ] || { echo "build-deb: no version in Sources/HDConfig/ProductVersion.swift" >&2; exit 1; }
version=$upstream-$DEB_REVISION

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/root
BUILD_BIN=$BUILD_BIN DESTDIR=$ROOT PREFIX=/usr UNITDIR=/lib/systemd/system bash scripts/install.sh > /dev/null

# /usr/share/doc/hyper-derp/changelog.Debian.gz: one entry for this version,
# dated by the last commit so rebuilding the same tree gives the same file.
stamp=$(git log -1 --format=%ct 2>/dev/null || date +%s)
cat > "$WORK/changelog.Debian" <<EOF
hyper-derp ($version) bookworm; urgency=medium

  * Build of Hyper-DERP $upstream ($(git rev-parse --short HEAD 2>/dev/null || echo "no git")) for Debian 12.

 -- $MAINTAINER  $(date -R -u -d "@$stamp")
EOF
install -m 0644 "$WORK/changelog.Debian" "$ROOT/usr/share/doc/hyper-derp/changelog.Debian"
gzip -9n "$ROOT/usr/share/doc/hyper-derp/changelog.Debian"

# Depends: the libraries the binaries link, as dpkg-shlibdeps maps them to packages.
mkdir -p "$WORK/src/debian"
printf 'Source: hyper-derp\n\nPackage: hyper-derp\nArchitecture: amd64\n' > "$WORK/src/debian/control"
shlibs=$(cd "$WORK/src" && dpkg-shlibdeps -O -e"$ROOT/usr/bin/hyper-derp" -e"$ROOT/usr/bin/hdctl" 2>"$WORK/shlibdeps.err") \
  || { cat "$WORK/shlibdeps.err" >&2; exit 1; }
depends=${shlibs#shlibs:Depends=}
[ -n "$depends" ] && [ "$depends" != "$shlibs" ] || { echo "build-deb: dpkg-shlibdeps gave no Depends" >&2; exit 1; }
depends="$depends, procps, kmod"

mkdir -p "$ROOT/DEBIAN"
installed_kb=$(du -k -s --apparent-size "$ROOT" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@MAINTAINER@|$MAINTAINER|" -e "s|@DEPENDS@|$depends|" \
  -e "s|@INSTALLED_SIZE@|$installed_kb|" packaging/debian/control.in > "$ROOT/DEBIAN/control"
echo /etc/hyper-derp/hyper-derp.yaml > "$ROOT/DEBIAN/conffiles"
for script in postinst prerm postrm; do install -m 0755 "packaging/debian/$script" "$ROOT/DEBIAN/$script"; done
(cd "$ROOT" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\0' | sort -z \
  | xargs -0 md5sum) > "$ROOT/DEBIAN/md5sums"
chmod 0644 "$ROOT/DEBIAN/md5sums" "$ROOT/DEBIAN/control" "$ROOT/DEBIAN/conffiles"

mkdir -p "$OUT_DIR"
deb=$OUT_DIR/hyper-derp_${version}_amd64.deb
SOURCE_DATE_EPOCH=$stamp dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$deb" > /dev/null
echo "$deb"
