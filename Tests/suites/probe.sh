#!/usr/bin/env bash
# hdctl derpmap / probe / status against a live two-relay region, and the
# Prometheus rules and Grafana dashboard in contrib/ (promtool, live metric
# names). The relays: A and B on loopback, TLS with a throw-away CA, STUN on,
# meshed with a shared key. Each mesh link goes through a small TCP-to-TLS
# forwarder (the relay dials http://, the forwarder speaks TLS to the other
# relay), so the test can cut the link between the relays while both keep
# serving their own clients.
set -uo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-.build/debug}
HDCTL=$BIN/hdctl
RELAY=$BIN/hyper-derp
BENCH=$BIN/hd-bench
for b in "$HDCTL" "$RELAY" "$BENCH"; do
  [ -x "$b" ] || { echo "FAIL probe suite: $b missing; run 'swift build' first"; exit 1; }
done
PY=""
for candidate in /usr/bin/python3 python3; do
  if "$candidate" -c "import prometheus_client" 2>/dev/null; then PY=$candidate; break; fi
done
[ -n "$PY" ] || { echo "FAIL probe suite: no python3 with prometheus_client (scripts/install-deps.sh)"; exit 1; }

WORK=$(mktemp -d /tmp/hd-probe-suite.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
failures=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
# check NAME COMMAND...: PASS when the command succeeds, else FAIL with its output.
check() {
  local name=$1; shift
  local out
  if out=$("$@" 2>&1); then pass "$name"; else fail "$name"; echo "$out" | sed 's/^/    /' | head -40; fi
}

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
free_udp_port() { "$PY" -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_for DESCRIPTION SECONDS COMMAND...: polls until the command succeeds.
wait_for() {
  local what=$1 seconds=$2; shift 2
  local deadline=$(( $(date +%s) + seconds ))
  while ! "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then echo "    timed out waiting for $what"; return 1; fi
    sleep 0.2
  done
}

# --- certificates: a throw-away CA, a leaf per relay (SAN derp-X.test and
# 127.0.0.1), and an expired leaf made with `openssl ca` (explicit dates).
make_certificates() {
  cd "$WORK"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt -days 2 \
    -subj "/CN=hd-probe test CA" 2>/dev/null || return 1
  mkdir -p ca && : > ca/index.txt && echo 01 > ca/serial
  cat > ca.cnf <<CNF
[ca]
default_ca = test
[test]
database = $WORK/ca/index.txt
new_certs_dir = $WORK/ca
serial = $WORK/ca/serial
default_md = sha256
policy = anything
copy_extensions = copy
unique_subject = no
[anything]
commonName = supplied
CNF
  for name in a b expired; do
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$name.key" -out "$name.csr" \
      -subj "/CN=derp-$name.test" -addext "subjectAltName=DNS:derp-$name.test,IP:127.0.0.1" 2>/dev/null || return 1
  done
  openssl ca -batch -config ca.cnf -cert ca.crt -keyfile ca.key -in a.csr -out a.crt -days 2 -notext 2>/dev/null || return 1
  openssl ca -batch -config ca.cnf -cert ca.crt -keyfile ca.key -in b.csr -out b.crt -days 2 -notext 2>/dev/null || return 1
  openssl ca -batch -config ca.cnf -cert ca.crt -keyfile ca.key -in expired.csr -out expired.crt -notext \
    -startdate 20200101000000Z -enddate 20200201000000Z 2>/dev/null || return 1
  openssl rand -hex 32 > mesh.key
  chmod 600 mesh.key
  cd - >/dev/null
}

# forwarder LISTEN_PORT TARGET_PORT: plain TCP in, TLS (verified against the CA) out.
# Runs in the background (the caller takes $!); output to WORK/forwarder-PORT.log.
start_forwarder() {
  "$PY" - "$1" "$2" "$WORK/ca.crt" > "$WORK/forwarder-$1.log" 2>&1 <<'PYEOF' &
import socket, ssl, sys, threading
listen_port, target_port, ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
context = ssl.create_default_context(cafile=ca)
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", listen_port))
server.listen(16)
def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.close()
        except OSError:
            pass
while True:
    plain, _ = server.accept()
    try:
        tls = context.wrap_socket(socket.create_connection(("127.0.0.1", target_port)), server_hostname="127.0.0.1")
    except OSError:
        plain.close()
        continue
    threading.Thread(target=pump, args=(plain, tls), daemon=True).start()
    threading.Thread(target=pump, args=(tls, plain), daemon=True).start()
PYEOF
}

# start_relay NAME PORT STUN_PORT METRICS_PORT MESH_PEER_URL: writes NAME.yaml and
# starts the daemon in the background (the caller takes $!).
start_relay() {
  local name=$1 port=$2 stun=$3 metrics=$4 peer=$5
  cat > "$WORK/$name.yaml" <<YAML
port: $port
bind: [127.0.0.1]
workers: 1
tls_cert: $WORK/$name.crt
tls_key: $WORK/$name.key
ktls: off
stun_port: $stun
key_file: $WORK/$name.serverkey
mesh:
  key_file: $WORK/mesh.key
  peers: [$peer]
metrics:
  port: $metrics
  bind: [127.0.0.1]
YAML
  "$RELAY" --config "$WORK/$name.yaml" > "$WORK/$name.log" 2>&1 &
}

metrics_up() { "$PY" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$1/health', timeout=2)"; }
mesh_connected() {
  "$PY" -c "import json,urllib.request,sys; h=json.load(urllib.request.urlopen('http://127.0.0.1:$1/health', timeout=2)); sys.exit(0 if h['mesh_peers']['connected']==1 else 1)"
}

make_certificates || { echo "FAIL probe suite: cannot make certificates with openssl"; exit 1; }
PORT_A=$(free_port); PORT_B=$(free_port); FWD_AB=$(free_port); FWD_BA=$(free_port)
STUN_A=$(free_udp_port); STUN_B=$(free_udp_port); METRICS_A=$(free_port); METRICS_B=$(free_port)
start_forwarder "$FWD_AB" "$PORT_B"; FWD_AB_PID=$!; PIDS+=("$FWD_AB_PID")
start_forwarder "$FWD_BA" "$PORT_A"; FWD_BA_PID=$!; PIDS+=("$FWD_BA_PID")
start_relay a "$PORT_A" "$STUN_A" "$METRICS_A" "http://127.0.0.1:$FWD_AB"; RELAY_A_PID=$!; PIDS+=("$RELAY_A_PID")
start_relay b "$PORT_B" "$STUN_B" "$METRICS_B" "http://127.0.0.1:$FWD_BA"; RELAY_B_PID=$!; PIDS+=("$RELAY_B_PID")
if wait_for "relay A's metrics" 20 metrics_up "$METRICS_A" && wait_for "relay B's metrics" 20 metrics_up "$METRICS_B" &&
  wait_for "mesh links up" 20 mesh_connected "$METRICS_A" && wait_for "mesh links up" 20 mesh_connected "$METRICS_B"; then
  pass "probe suite: two TLS relays meshed through forwarders"
else
  fail "probe suite: two TLS relays meshed through forwarders"
  tail -20 "$WORK/a.log" "$WORK/b.log" | sed 's/^/    /'
  exit 1
fi

# --- hdctl status: a relay with traffic (4 peers from hd-bench over TLS).
status_with_traffic() {
  "$BENCH" throughput --host 127.0.0.1 --port "$PORT_A" --tls --peers 4 --pairs 2 --rate-mbps 20 --duration 5 \
    --warmup 0 > "$WORK/bench.log" 2>&1 &
  local bench=$!
  local ok=1
  for _ in $(seq 1 12); do
    "$HDCTL" status "http://127.0.0.1:$METRICS_A" --json > "$WORK/status.json" 2>"$WORK/status.err" || break
    if "$PY" - "$WORK/status.json" <<'PYEOF'
import json, sys
s = json.load(open(sys.argv[1]))
# 4 hd-bench peers plus relay B's mesh link, which is a DERP client of A too.
ok = (s["peers"] == 5 and s["recv_bytes_per_second"] > 0 and s["send_bytes_per_second"] > 0
      and s["health"] == "ok" and s["tls_mode"] == "userspace" and s["mesh_peers_connected"] == 1
      and s["workers"] == 1 and s["version"])
sys.exit(0 if ok else 1)
PYEOF
    then ok=0; break; fi
  done
  wait "$bench"
  "$HDCTL" status "http://127.0.0.1:$METRICS_A" > "$WORK/status.txt" 2>&1 || ok=1
  grep -q "^mesh .*1/1 links up" "$WORK/status.txt" || ok=1
  [ $ok -eq 0 ] || { cat "$WORK/status.json" "$WORK/status.err" "$WORK/status.txt" "$WORK/bench.log"; return 1; }
}
check "hdctl status: live relay with traffic shows non-zero throughput, 5 peers (4 + the mesh link), TLS mode, mesh link up" status_with_traffic
check "hdctl status: --config finds the metrics server" "$HDCTL" status --config "$WORK/a.yaml"
status_down() {
  local out
  out=$("$HDCTL" status "http://127.0.0.1:$(free_port)" 2>&1) && return 1
  echo "$out" | grep -q "refused"
}
check "hdctl status: a metrics server that is not there exits 1 and says why" status_down

[ $failures -eq 0 ]
