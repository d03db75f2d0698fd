#!/usr/bin/env bash
# Installs the Debian packages Hyper-DERP needs to build, test and benchmark,
# only when something is missing (so `make run`/`make test` stay fast on a
# machine that has them). Needs root (CI and the dev machines run as root).
set -euo pipefail
# One package per line (with why), so additions from parallel work merge cleanly.
PKGS=(
  liburing-dev libssl-dev libsodium-dev libyaml-dev pkg-config   # build
  iperf3 openssl procps iproute2                                  # tests and benchmarks
  qemu-system-x86 busybox-static kmod cpio lz4                    # kTLS / systemd VMs
  python3 python3-prometheus-client                               # metrics text-format parser
  zsh fish                                                        # completion tests
  debootstrap                                                     # the packaging VM's bookworm root
  lintian                                                         # checks the .deb
  dpkg-dev                                                        # dpkg-shlibdeps: the .deb's Depends field
  man-db                                                          # man --warnings checks the generated man pages
  pebble                                                          # ACME test server
  prometheus                                                      # promtool: rules check and unit tests
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Prometheus text-format parser used by the metrics tests.
python3 -c 'import prometheus_client' 2>/dev/null || pip install -q prometheus_client || true
