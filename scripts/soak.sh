#!/usr/bin/env bash
# `make soak` (not CI): 30 minutes of mixed load on a plain and a TLS relay
# with metrics on (scripts/soak.py says what load), sampled every 10 s into
# CSV + PNG + summary.md under SOAK_OUT. Needs python3-nacl and
# python3-matplotlib (installed here if missing). docs/robustness.md records
# the latest result.
#   SOAK_SECONDS (1800)  SOAK_WARMUP (600)  SOAK_PEERS (2000)  SOAK_OUT (.build-soak/<time>)
set -euo pipefail
cd "$(dirname "$0")/.."
for pkg in python3-nacl python3-matplotlib openssl; do
  dpkg -s "$pkg" >/dev/null 2>&1 || apt-get install -y "$pkg" >/dev/null
done
[ -n "${SOAK_SKIP_BUILD:-}" ] || { swift build -c release --product hyper-derp && swift build -c release --product hd-bench; }
out=${SOAK_OUT:-$PWD/.build-soak/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
cache=${XDG_CACHE_HOME:-$HOME/.cache}/hyper-derp/soak
mkdir -p "$cache"
if [ ! -s "$cache/cert.pem" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$cache/key.pem" -out "$cache/cert.pem" 2>/dev/null
fi
# 2,000 peers + churn + the relay's own fds: well inside the 20,000 hard limit.
ulimit -n 20000
# Debian's python3: the apt modules above are installed for it.
/usr/bin/python3 scripts/soak.py --bin .build/release --out "$out" --cert "$cache/cert.pem" --key "$cache/key.pem" \
  --seconds "${SOAK_SECONDS:-1800}" --warmup "${SOAK_WARMUP:-600}" --peers "${SOAK_PEERS:-2000}"
