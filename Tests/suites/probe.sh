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

# The relay's scrape (TLS, STUN and mesh on) for the contrib/ name check at the end.
"$PY" -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$METRICS_A/metrics', timeout=5).read().decode(), end='')" \
  > "$WORK/relay-metrics.txt"

# --- hdctl status: a relay with traffic (4 peers from hd-bench over TLS).
status_with_traffic() {
  # Traffic runs until the check has seen it (the generator is stopped then), at most 20 s.
  "$BENCH" throughput --host 127.0.0.1 --port "$PORT_A" --tls --peers 4 --pairs 2 --rate-mbps 20 --duration 20 \
    --warmup 0 > "$WORK/bench.log" 2>&1 &
  local bench=$!
  local ok=1
  for _ in $(seq 1 15); do
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
  kill "$bench" 2>/dev/null; wait "$bench" 2>/dev/null
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

# --- hdctl derpmap from the relays' own configs, then hdctl probe on it.
"$HDCTL" derpmap --region-id 900 --region-code tst --region-name "probe suite" \
  --node "derp-a.test,config=$WORK/a.yaml,ipv4=127.0.0.1" --node "derp-b.test,config=$WORK/b.yaml,ipv4=127.0.0.1" \
  > "$WORK/map.json" 2>"$WORK/derpmap.err"
check "hdctl derpmap: the two relays' configs make a region map" "$PY" - "$WORK/map.json" "$PORT_A" "$STUN_B" <<'PYEOF'
import json, sys
m = json.load(open(sys.argv[1]))
nodes = m["Regions"]["900"]["Nodes"]
assert [n["Name"] for n in nodes] == ["900a", "900b"], nodes
assert nodes[0]["DERPPort"] == int(sys.argv[2]) and nodes[1]["STUNPort"] == int(sys.argv[3]), nodes
assert "CertName" not in nodes[0], "CA-issued certificates are not pinned"
PYEOF

PROBE=("$HDCTL" probe --ca-file "$WORK/ca.crt" --mesh-key-file "$WORK/mesh.key" --packets 5 --timeout 3)
# probe_json NAME EXIT PYTHON-ASSERTIONS ARGS...: runs hdctl probe --json, expects the exit code,
# then checks the report (variable r; helper c(kind, node, peer=None) -> check).
probe_json() {
  local name=$1 expected=$2 assertions=$3; shift 3
  local rc=0
  "${PROBE[@]}" --json "$@" > "$WORK/probe.json" 2>"$WORK/probe.err" || rc=$?
  if [ "$rc" -ne "$expected" ]; then
    fail "$name (exit $rc, expected $expected)"; sed 's/^/    /' "$WORK/probe.json" "$WORK/probe.err" | head -30; return
  fi
  if "$PY" - "$WORK/probe.json" "$assertions" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
def c(kind, node, peer=None):
    found = [x for x in r["checks"] if x["check"] == kind and x["node"] == node and x["peer"] == peer]
    assert len(found) == 1, (kind, node, peer, found)
    return found[0]
def ok(kind, node, peer=None):
    x = c(kind, node, peer)
    assert x["result"] == "ok", x
    return x
def failed(kind, node, words, peer=None):
    x = c(kind, node, peer)
    assert x["result"] == "failed" and all(w in x["detail"] for w in words), x
    return x
def plausible(x):
    lat = x["latency_seconds"]
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] < 5, x
try:
    exec(sys.argv[2])
except AssertionError as e:
    print("    assertion failed:", e)
    print("\n".join("    " + json.dumps(x) for x in r["checks"]))
    sys.exit(1)
PYEOF
  then pass "$name"; else fail "$name"; fi
}

probe_json "hdctl probe: every check passes on the live region, figures plausible" 0 '
assert r["ok"] is True
for n in ("900a", "900b"):
    for k in ("connect", "tls", "derp", "stun", "bandwidth"):
        ok(k, n)
    plausible(ok("packets", n))
    assert "chain verified for derp-" in c("tls", n)["detail"] and "days)" in c("tls", n)["detail"]
    assert "our own address 127.0.0.1:" in c("stun", n)["detail"]
plausible(ok("mesh", "900a", "900b"))
plausible(ok("mesh", "900b", "900a"))
import time
nodes = {x["node"]: x for x in r["nodes"]}
assert all(time.time() < nodes[n]["certificate_not_after"] < time.time() + 3 * 86400 for n in nodes), nodes
assert nodes["900a"]["server_key"] != nodes["900b"]["server_key"]
assert all(nodes[n]["bandwidth_bytes_per_second"] > 0 for n in nodes)
' --derp-map "$WORK/map.json" --bandwidth-bytes 2000000

table_passes() {
  "$HDCTL" derpmap --format headscale --region-id 900 --region-code tst \
    --node "derp-a.test,config=$WORK/a.yaml,ipv4=127.0.0.1" --node "derp-b.test,config=$WORK/b.yaml,ipv4=127.0.0.1" \
    > "$WORK/map.yaml" || return 1
  "${PROBE[@]}" --derp-map "$WORK/map.yaml" | tee "$WORK/table.txt" | grep -q "^all 1[0-9] checks passed"
}
check "hdctl probe: Headscale's YAML form of the map probes the same; the table says all passed, exit 0" table_passes

# The right pin passes without any CA; a wrong pin fails the TLS check of that node only.
PIN_A=$(openssl x509 -in "$WORK/a.crt" -outform der | sha256sum | cut -d' ' -f1)
PIN_CA=$(openssl x509 -in "$WORK/ca.crt" -outform der | sha256sum | cut -d' ' -f1)
pinned_map() {
  "$PY" - "$WORK/map.json" "$1" > "$WORK/pinned.json" <<'PYEOF'
import json, sys
m = json.load(open(sys.argv[1]))
m["Regions"]["900"]["Nodes"][0]["CertName"] = "sha256-raw:" + sys.argv[2]
print(json.dumps(m))
PYEOF
}
pinned_map "$PIN_A"
probe_json "hdctl probe: the right sha256-raw pin passes (no CA consulted)" 0 '
assert "pinned sha256-raw:" in ok("tls", "900a")["detail"]
' --derp-map "$WORK/pinned.json"
pinned_map "$PIN_CA"
probe_json "hdctl probe: a wrong pin fails that node's TLS check, named, the other node passes" 1 '
failed("tls", "900a", ["does not match the pin", "'"$PIN_CA"'"])
assert c("derp", "900a")["result"] == "skipped"
ok("tls", "900b"); ok("packets", "900b"); ok("stun", "900a")
' --derp-map "$WORK/pinned.json"

# An expired certificate (a TLS server that presents one: the relay itself refuses to start with it).
EXPIRED_PORT=$(free_port)
"$PY" - "$EXPIRED_PORT" "$WORK/expired.crt" "$WORK/expired.key" > "$WORK/expired.log" 2>&1 <<'PYEOF' &
import socket, ssl, sys
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[2], sys.argv[3])
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", int(sys.argv[1])))
server.listen(8)
while True:
    conn, _ = server.accept()
    try:
        context.wrap_socket(conn, server_side=True).close()
    except (ssl.SSLError, OSError):
        conn.close()
PYEOF
EXPIRED_PID=$!; PIDS+=("$EXPIRED_PID")
wait_for "the expired-certificate server" 10 "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $EXPIRED_PORT), 1)"
probe_json "hdctl probe: an expired certificate fails the TLS check, named" 1 '
failed("tls", "127.0.0.1", ["certificate has expired"])
ok("connect", "127.0.0.1")
' --relay "https://127.0.0.1:$EXPIRED_PORT"

# --listen: Prometheus text that the reference parser reads, carrying the results, and a status page.
LISTEN_PORT=$(free_port)
"${PROBE[@]}" --derp-map "$WORK/map.json" --listen "127.0.0.1:$LISTEN_PORT" --interval 1 > "$WORK/listen.log" 2>&1 &
LISTEN_PID=$!; PIDS+=("$LISTEN_PID")
listen_ran() {
  "$PY" -c "import re,urllib.request,sys; t=urllib.request.urlopen('http://127.0.0.1:$LISTEN_PORT/metrics', timeout=2).read().decode(); sys.exit(0 if int(re.search(r'^hyper_derp_probe_runs_total (\\d+)', t, re.M).group(1)) >= 2 else 1)"
}
listen_metrics() {
  wait_for "two probe passes" 60 listen_ran || { cat "$WORK/listen.log"; return 1; }
  "$PY" - "$LISTEN_PORT" "$WORK/probe-metrics.txt" <<'PYEOF'
import sys, urllib.request
from prometheus_client.parser import text_string_to_metric_families
base = "http://127.0.0.1:%s" % sys.argv[1]
text = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
families = {f.name: f for f in text_string_to_metric_families(text)}
success = {(s.labels["check"], s.labels["node"], s.labels["peer"]): s.value for s in families["hyper_derp_probe_success"].samples}
expected = {(k, n, "") for k in ("connect", "tls", "derp", "packets", "stun") for n in ("900a", "900b")}
expected |= {("mesh", "900a", "900b"), ("mesh", "900b", "900a")}
assert set(success) == expected, sorted(success)
assert all(v == 1 for v in success.values()), success
latency = families["hyper_derp_probe_latency_seconds"]
counts = [s for s in latency.samples if s.name.endswith("_count") and s.labels["check"] == "mesh"]
assert len(counts) == 2 and all(s.value >= 10 for s in counts), counts
expiry = [s.value for s in families["hyper_derp_probe_cert_expiry_timestamp_seconds"].samples]
assert len(expiry) == 2 and all(v > 1e9 for v in expiry), expiry
assert any(s.value >= 2 for s in families["hyper_derp_probe_runs"].samples)
last = [s for s in families["hyper_derp_probe_last_success_timestamp_seconds"].samples]
assert len(last) == len(expected), last
open(sys.argv[2], "w").write(text)
page = urllib.request.urlopen(base + "/", timeout=5).read().decode()
assert "<table>" in page and "900a-&gt;900b" in page and "all checks passed" in page, page[:500]
PYEOF
}
check "hdctl probe --listen: /metrics parses with prometheus_client and carries every result; / shows them" listen_metrics
kill "$LISTEN_PID" 2>/dev/null; wait "$LISTEN_PID" 2>/dev/null

# Cut the mesh: both forwarders go, the relays keep serving their own clients.
kill "$FWD_AB_PID" "$FWD_BA_PID" 2>/dev/null; wait "$FWD_AB_PID" "$FWD_BA_PID" 2>/dev/null
mesh_down() {
  "$PY" -c "import json,urllib.request,sys; h=json.load(urllib.request.urlopen('http://127.0.0.1:$1/health', timeout=2)); sys.exit(0 if h['mesh_peers']['connected']==0 else 1)"
}
wait_for "mesh links down" 20 mesh_down "$METRICS_A" && wait_for "mesh links down" 20 mesh_down "$METRICS_B"
probe_json "hdctl probe: mesh link cut: both mesh checks fail, named, while every single-node check passes" 1 '
for n in ("900a", "900b"):
    for k in ("connect", "tls", "derp", "packets", "stun"):
        ok(k, n)
failed("mesh", "900a", ["mesh link down"], "900b")
failed("mesh", "900b", ["mesh link down"], "900a")
' --derp-map "$WORK/map.json"

# STUN off: relay B restarts without its STUN responder; the map still names the port.
kill "$RELAY_B_PID"; wait "$RELAY_B_PID" 2>/dev/null
sed -i "s/^stun_port: .*/stun_port: 0/" "$WORK/b.yaml"
"$RELAY" --config "$WORK/b.yaml" > "$WORK/b2.log" 2>&1 &
RELAY_B_PID=$!; PIDS+=("$RELAY_B_PID")
wait_for "relay B again" 20 metrics_up "$METRICS_B"
probe_json "hdctl probe: STUN off: that node's STUN check fails, named; its other checks and node A pass" 1 '
failed("stun", "900b", ["port unreachable"])
for k in ("connect", "tls", "derp", "packets"):
    ok(k, "900b"); ok(k, "900a")
ok("stun", "900a")
' --derp-map "$WORK/map.json"

# A relay down: B stops; A still passes.
kill "$RELAY_B_PID"; wait "$RELAY_B_PID" 2>/dev/null
probe_json "hdctl probe: a relay down fails its connect check, named; the rest of that node is skipped; A passes" 1 '
failed("connect", "900b", ["cannot connect", "refused"])
for k in ("tls", "derp", "packets"):
    assert c(k, "900b")["result"] == "skipped", c(k, "900b")
assert c("mesh", "900a", "900b")["result"] == "skipped"
for k in ("connect", "tls", "derp", "packets", "stun"):
    ok(k, "900a")
' --derp-map "$WORK/map.json"

# --- contrib/: Prometheus rules (promtool) and the Grafana dashboard, against the live scrapes.
RULES=contrib/prometheus/hyper-derp-rules.yml
DASHBOARD=contrib/grafana/hyper-derp-dashboard.json
if command -v promtool >/dev/null; then
  check "contrib: promtool check rules" promtool check rules "$RULES"
  check "contrib: promtool test rules: every alert firing and not firing" \
    bash -c "cd contrib/prometheus && promtool test rules hyper-derp-rules.test.yml"
  every_alert_tested() {
    "$PY" - "$RULES" contrib/prometheus/hyper-derp-rules.test.yml <<'PYEOF'
import re, sys
alerts = set(re.findall(r"^\s*- alert: (\S+)", open(sys.argv[1]).read(), re.M))
tests = open(sys.argv[2]).read()
for alert in sorted(alerts):
    cases = re.findall(r"alertname: %s\n\s*exp_alerts:(.*)" % alert, tests)
    assert any(c.strip() == "[]" for c in cases), "%s: no not-firing case" % alert
    assert any(c.strip() == "" for c in cases), "%s: no firing case" % alert
assert alerts, "no alerts found"
PYEOF
  }
  check "contrib: every alert has a firing and a not-firing unit test" every_alert_tested
  names_exist() {
    local queries
    [ -s "$WORK/relay-metrics.txt" ] && [ -s "$WORK/probe-metrics.txt" ] || { echo "scrapes missing"; return 1; }
    queries=$("$PY" contrib/check-metric-names.py "$RULES" "$DASHBOARD" "$WORK/relay-metrics.txt" "$WORK/probe-metrics.txt") || {
      echo "$queries"; return 1; }
    local rc=0
    promtool check rules "$queries" || rc=1
    rm -f "$queries"
    return $rc
  }
  check "contrib: rules and dashboard name only metrics a live relay or prober exports; dashboard queries parse" names_exist
  checker_catches_a_wrong_name() {
    sed 's/hyper_derp_mesh_peers_configured/hyper_derp_mesh_peers_wanted/' "$RULES" > "$WORK/wrong-rules.yml"
    local out
    out=$("$PY" contrib/check-metric-names.py "$WORK/wrong-rules.yml" "$DASHBOARD" "$WORK/relay-metrics.txt" "$WORK/probe-metrics.txt") && return 1
    echo "$out" | grep -q "hyper_derp_mesh_peers_wanted"
  }
  check "contrib: the name check catches a metric the relay does not export" checker_catches_a_wrong_name
else
  fail "contrib: promtool missing (Debian package prometheus, scripts/install-deps.sh)"
fi

[ $failures -eq 0 ]
