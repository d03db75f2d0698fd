#!/usr/bin/env bash
# Where the relay's user-space CPU goes, counted in instructions (issue 15):
# runs the release relay under `valgrind --tool=callgrind` (1 worker, CPU 0),
# drives it with `hd-bench throughput` (CPU 1) for an exact number of
# messages, and prints instructions per delivered message plus the top
# functions. Instruction counts repeat across runs on a busy machine where
# wall-clock figures don't, so this is the before/after measure for data-path
# changes. Kernel work (TCP, copies in system calls) is not counted: compare
# `utime`/`stime` from a native run for that split.
#
# Usage: scripts/callgrind-relay.sh NAME [--tls] [hd-bench throughput args...]
#   e.g. scripts/callgrind-relay.sh batched --batch 32 --rate-mbps 200 --count 20000
#        scripts/callgrind-relay.sh single --batch 1 --rate-mbps 20 --jitter 50 --count 5000
# Env: BIN (.build/release), HD_BENCH ($BIN/hd-bench), CG_OUT (callgrind-out), CG_PORT (3350), CG_TOP (25).
set -eu
cd "$(dirname "$0")/.."
NAME=${1:?usage: $0 NAME [--tls] [hd-bench args...]}; shift
BIN=${BIN:-.build/release}
OUT=${CG_OUT:-callgrind-out}
PORT=${CG_PORT:-3350}
TOP=${CG_TOP:-25}
HD_BENCH=${HD_BENCH:-$BIN/hd-bench}
mkdir -p "$OUT"
WORK=$(mktemp -d)
RELAY_PID=""
cleanup() {
  [ -n "$RELAY_PID" ] && kill -TERM "$RELAY_PID" 2>/dev/null && wait "$RELAY_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

RELAY_ARGS=(--port "$PORT" --bind 127.0.0.1 --workers 1 --log-level warn)
if [[ " $* " == *" --tls "* ]]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1
  RELAY_ARGS+=(--tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem")
fi
# Valgrind 3.19 cannot read the DWARF 5 debug info Swift emits: profile a copy
# without it (the symbol table stays, so functions keep their names).
strip --strip-debug -o "$WORK/hyper-derp" "$BIN/hyper-derp"
# Instrumentation (counting) is switched on when the load starts: start-up and handshakes are not in the figures.
taskset -c 0 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/$NAME.%p.out" \
  "$WORK/hyper-derp" "${RELAY_ARGS[@]}" >"$WORK/relay.log" 2>&1 &
RELAY_PID=$!
for _ in $(seq 1 300); do
  (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && break
  kill -0 "$RELAY_PID" 2>/dev/null || { cat "$WORK/relay.log"; exit 1; }
  sleep 0.1
done
# Under valgrind a TLS handshake that starts right after that probe connection
# sometimes fails (not seen natively): let the relay settle first.
sleep 3
# Counting starts once every peer is connected (handshakes left out), during --start-delay.
taskset -c 1 "$HD_BENCH" throughput --port "$PORT" --warmup 0 --drain 10 --start-delay 3 --output "$WORK/run.json" "$@" \
  2> >(tee "$WORK/bench.log" >&2) &
BENCH_PID=$!
until grep -q "traffic starts" "$WORK/bench.log" 2>/dev/null; do
  kill -0 "$BENCH_PID" 2>/dev/null || { wait "$BENCH_PID"; exit 1; }
  sleep 0.1
done
callgrind_control -i on "$RELAY_PID" >/dev/null
wait "$BENCH_PID"
callgrind_control -i off "$RELAY_PID" >/dev/null
kill -TERM "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null || true; RELAY_PID=""
FILE=$(ls -t "$OUT/$NAME".*.out | head -1)
RECEIVED=$(sed -n 's/.*"messages_recv": \([0-9]*\).*/\1/p' "$WORK/run.json" | head -1)
TOTAL=$(callgrind_annotate "$FILE" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
echo "callgrind $NAME: $TOTAL instructions for $RECEIVED delivered messages = $(( TOTAL / (RECEIVED > 0 ? RECEIVED : 1) )) per message"
echo "profile: $FILE"
callgrind_annotate --inclusive=no "$FILE" 2>/dev/null | sed -n '/^Ir/,$p' | head -$(( TOP + 2 )) \
  | awk -v m="$RECEIVED" 'NR <= 2 { print; next } { n = $1; gsub(",", "", n); printf "%8.0f/msg  %s\n", n / (m > 0 ? m : 1), $0 }'
