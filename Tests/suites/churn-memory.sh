#!/usr/bin/env bash
# Memory retained per churned connection (issue 14): after 20,000
# connect / handshake / close cycles the relay's RSS is back within a few MiB
# of its warmed-up baseline, and its fds are back to the baseline count.
# derper keeps ~15 KiB per churned connection live (~300 MiB here); a slot,
# its blocks and its TLS/queue state must all be returned. Release binaries
# from `make test`'s build; loopback only; ~10-30 s.
set -uo pipefail
cd "$(dirname "$0")/../.."
relay=.build/release/hyper-derp
bench=.build/release/hd-bench
cycles=${CHURN_CYCLES:-20000}
allowed_kib=${CHURN_ALLOWED_KIB:-4096}
[ -x "$relay" ] && [ -x "$bench" ] || { echo "FAIL churn-memory: build release first ($relay, $bench)"; exit 1; }
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'port: %s\nbind: [127.0.0.1]\nworkers: 2\nlog_level: warn\nkey_file: %s/key\n' "$port" "$work" >"$work/relay.yaml"
"$relay" --config "$work/relay.yaml" 2>"$work/relay.log" &
pid=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }
fds() { ls "/proc/$pid/fd" | wc -l; }
churn() {
  timeout 300 "$bench" connrate --port "$port" --count "$1" --concurrency 50 --timeout 30 >"$work/connrate.log" 2>&1
}

# Warm-up: pools, malloc arenas and the slot table pages reach their working
# size (RSS levels off within the first ~5,000 cycles, then stays flat).
churn 5000 || { echo "FAIL churn-memory: warm-up handshakes failed: $(tail -2 "$work/connrate.log")"; exit 1; }
sleep 1
base_rss=$(rss_kib); base_fds=$(fds)
done_cycles=0
while [ "$done_cycles" -lt "$cycles" ]; do
  churn 5000 || { echo "FAIL churn-memory: handshakes failed after $done_cycles: $(tail -2 "$work/connrate.log")"; exit 1; }
  done_cycles=$((done_cycles + 5000))
  [ -n "${CHURN_VERBOSE:-}" ] && echo "churn-memory: $done_cycles cycles, RSS $(rss_kib) KiB"
done
sleep 1
end_rss=$(rss_kib); end_fds=$(fds)
grown=$((end_rss - base_rss))
per_conn=$((grown * 1024 / cycles))
if [ "$grown" -le "$allowed_kib" ]; then
  echo "PASS churn-memory: RSS ${base_rss} -> ${end_rss} KiB after $cycles handshake/close cycles (+${grown} KiB, ${per_conn} B per connection; allowed ${allowed_kib} KiB)"
else
  echo "FAIL churn-memory: RSS grew ${grown} KiB over $cycles cycles (${per_conn} B per connection; allowed ${allowed_kib} KiB)"
fi
if [ "$end_fds" -le "$base_fds" ]; then
  echo "PASS churn-memory: fds back to ${end_fds} (baseline ${base_fds})"
else
  echo "FAIL churn-memory: fds ${base_fds} -> ${end_fds} after the churn"
fi
[ "$grown" -le "$allowed_kib" ] && [ "$end_fds" -le "$base_fds" ]
