#!/usr/bin/env bash
# The Debian package and `make install`, checked on the host: `make deb`
# builds hyper-derp_<version>-1_amd64.deb with the files Debian expects, a
# Depends field that covers every library the binaries load (and nothing from
# /opt/swift), lintian finds no error, the shipped configuration passes
# check-config (as shipped, and with its TLS block filled in), and
# `make install` installs the same files. Booting it under systemd is
# Tests/suites/systemd-vm.sh.
set -uo pipefail
cd "$(dirname "$0")/../.."
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
pass() { echo "PASS packaging: $1"; }
fail() { echo "FAIL packaging: $1"; failures=$((failures + 1)); }
check() { if eval "$2"; then pass "$1"; else fail "$1"; fi; }

# Kept lintian warnings, each with why (any other warning fails the suite):
#  - initial-upload-closes-no-bugs: the package is built from this tree, not
#    uploaded to Debian, so its changelog closes no ITP bug.
KEPT_WARNINGS="initial-upload-closes-no-bugs"

make -s deb OUT_DIR="$WORK" > "$WORK/make-deb.log" 2>&1 || { tail -30 "$WORK/make-deb.log"; fail "make deb"; exit 1; }
version=$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' Sources/HDConfig/ProductVersion.swift)
DEB=$WORK/hyper-derp_${version}-1_amd64.deb
check "make deb builds $(basename "$DEB")" '[ -s "$DEB" ]'
[ -s "$DEB" ] || exit 1

dpkg-deb -x "$DEB" "$WORK/x"
dpkg-deb -e "$DEB" "$WORK/control"
(cd "$WORK/x" && find . -type f -printf '/%P\n' -o -type l -printf '/%P\n' | sort) > "$WORK/deb-files"
missing=""
for path in /usr/bin/hyper-derp /usr/bin/hdctl /lib/systemd/system/hyper-derp.service /etc/hyper-derp/hyper-derp.yaml \
  /usr/lib/modules-load.d/hyper-derp.conf /usr/share/bash-completion/completions/hdctl \
  /usr/share/bash-completion/completions/hyper-derp /usr/share/zsh/vendor-completions/_hdctl \
  /usr/share/zsh/vendor-completions/_hyper-derp /usr/share/fish/vendor_completions.d/hdctl.fish \
  /usr/share/fish/vendor_completions.d/hyper-derp.fish /usr/share/man/man8/hyper-derp.8.gz \
  /usr/share/man/man8/hdctl.8.gz /usr/share/man/man5/hyper-derp.yaml.5.gz /usr/share/doc/hyper-derp/copyright \
  /usr/share/doc/hyper-derp/changelog.Debian.gz; do
  grep -qx "$path" "$WORK/deb-files" || missing="$missing $path"
done
check "the package holds binaries, unit, conffile, modules-load.d, completions, man pages, copyright, changelog${missing:+ (missing:$missing)}" '[ -z "$missing" ]'
check "/etc/hyper-derp/hyper-derp.yaml is a conffile" 'grep -qx /etc/hyper-derp/hyper-derp.yaml "$WORK/control/conffiles"'
check "the packaged config is packaging/hyper-derp.yaml" 'cmp -s packaging/hyper-derp.yaml "$WORK/x/etc/hyper-derp/hyper-derp.yaml"'
check "modules-load.d loads tls" 'grep -qx tls "$WORK/x/usr/lib/modules-load.d/hyper-derp.conf"'
unit=$WORK/x/lib/systemd/system/hyper-derp.service
check "the unit runs /usr/bin/hyper-derp (no /usr/local)" \
  'grep -q "^ExecStart=/usr/bin/hyper-derp --config /etc/hyper-derp/hyper-derp.yaml$" "$unit" && ! grep -q /usr/local "$unit"'
same_man=1
for page in man/*.[0-9]; do
  gunzip -c "$WORK/x/usr/share/man/man${page##*.}/$(basename "$page").gz" | cmp -s - "$page" || same_man=0
done
check "the packaged man pages are the generated ones in man/" '[ $same_man = 1 ]'

# Every library the binaries load is a Debian package's, and Depends names that package.
depends=$(sed -n 's/^Depends: //p' "$WORK/control/control")
echo "packaging: Depends: $depends"
depends_names=$(tr ',' '\n' <<<"$depends" | sed -E 's/\|.*//; s/\(.*\)//; s/[[:space:]]//g')
ldd_ok=1; depends_ok=1
for binary in hyper-derp hdctl; do
  while read -r lib; do
    case $lib in /opt/*|*swift*) ldd_ok=0; echo "  $binary loads $lib (not Debian's)";; esac
    owner=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -1 | cut -d: -f1) \
      || owner=$(dpkg -S "$lib" 2>/dev/null | head -1 | cut -d: -f1)
    [ -n "$owner" ] || { ldd_ok=0; echo "  $binary: $lib belongs to no Debian package"; continue; }
    grep -qxF "$owner" <<<"$depends_names" || { depends_ok=0; echo "  $binary: $lib ($owner) not in Depends"; }
  done < <(ldd "$WORK/x/usr/bin/$binary" | grep -o '/[^ ]*' | sort -u)
  ldd "$WORK/x/usr/bin/$binary" | grep -q "not found" && { ldd_ok=0; echo "  $binary: a library is not found"; }
done
check "ldd of both binaries names only Debian libraries (nothing from /opt/swift)" '[ $ldd_ok = 1 ]'
check "Depends covers every library's package" '[ $depends_ok = 1 ]'
wanted=""
for package in libc6 libssl3 libsodium23 libyaml-0-2 liburing2 procps kmod; do
  grep -qxF "$package" <<<"$depends_names" || wanted="$wanted $package"
done
check "Depends names libc6, libssl3, libsodium23, libyaml-0-2, liburing2, procps and kmod${wanted:+ (missing:$wanted)}" '[ -z "$wanted" ]'
check "hyper-derp --version and hdctl version print $version" \
  '"$WORK/x/usr/bin/hyper-derp" --version | grep -qx "hyper-derp $version" && "$WORK/x/usr/bin/hdctl" version | grep -q "$version"'

# The shipped config: valid as shipped (its key_file directory is the unit's
# StateDirectory, so point that at a scratch directory here), and valid with
# the commented TLS block filled in with real files.
mkdir -p "$WORK/state"
sed "s#/var/lib/hyper-derp/#$WORK/state/#" packaging/hyper-derp.yaml > "$WORK/shipped.yaml"
check "the shipped config passes hdctl check-config" '"$WORK/x/usr/bin/hdctl" check-config "$WORK/shipped.yaml" > "$WORK/check.log" 2>&1 || { cat "$WORK/check.log"; false; }'
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=derp.example \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
sed -e 's/^#\(port\|tls_cert\|tls_key\|ktls\):/\1:/' -e '/^port: 3340$/d' -e "s#/etc/hyper-derp/#$WORK/#" \
  "$WORK/shipped.yaml" > "$WORK/production.yaml"
check "with its TLS block uncommented and certificate paths filled in, it passes check-config on port 443" \
  'grep -q "^port: 443$" "$WORK/production.yaml" && "$WORK/x/usr/bin/hdctl" check-config "$WORK/production.yaml" > "$WORK/check-tls.log" 2>&1 || { cat "$WORK/check-tls.log"; false; }'

# lintian: no error; warnings only from the kept list.
lintian --tag-display-limit 0 "$DEB" > "$WORK/lintian.log" 2>&1; echo >> "$WORK/lintian.log"
sed 's/^/  lintian: /' "$WORK/lintian.log"
check "lintian reports no errors" '! grep -q "^E: " "$WORK/lintian.log"'
unexpected=$(sed -n 's/^W: hyper-derp[^:]*: \([a-z0-9.+-]*\).*/\1/p' "$WORK/lintian.log" | sort -u | while read -r tag; do
  [[ " $KEPT_WARNINGS " == *" $tag "* ]] || echo "$tag"; done)
check "lintian warnings are only the kept ones${unexpected:+ (new: $(echo $unexpected))}" '[ -z "$unexpected" ]'

# make install: the same files as the package (which adds only its changelog).
make -s install DESTDIR="$WORK/staged" PREFIX=/usr UNITDIR=/lib/systemd/system > "$WORK/make-install.log" 2>&1 \
  || { tail -20 "$WORK/make-install.log"; fail "make install"; }
(cd "$WORK/staged" && find . -type f -printf '/%P\n' -o -type l -printf '/%P\n' | sort) > "$WORK/install-files"
grep -vx /usr/share/doc/hyper-derp/changelog.Debian.gz "$WORK/deb-files" > "$WORK/deb-files-no-changelog"
check "make install (PREFIX=/usr) installs exactly the package's files" \
  'diff "$WORK/deb-files-no-changelog" "$WORK/install-files"'
same=1
while read -r path; do cmp -s "$WORK/x$path" "$WORK/staged$path" || { same=0; echo "  differs: $path"; }; done < "$WORK/install-files"
check "... with the same contents" '[ $same = 1 ]'
make -s install DESTDIR="$WORK/local" > /dev/null 2>&1
check "make install with the default PREFIX=/usr/local points the unit at /usr/local/bin" \
  '[ -x "$WORK/local/usr/local/bin/hyper-derp" ] && grep -q "^ExecStart=/usr/local/bin/hyper-derp " "$WORK/local/usr/local/lib/systemd/system/hyper-derp.service" && [ -e "$WORK/local/usr/lib/modules-load.d/hyper-derp.conf" ] && [ -e "$WORK/local/usr/local/share/man/man8/hdctl.8.gz" ]'

[ "$failures" -eq 0 ]
