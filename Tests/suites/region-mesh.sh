#!/usr/bin/env bash
# A whole DERP region under test: 4 hyper-derp relays, each in its own network
# namespace, on veth links to a bridge that lives in another namespace
# (10.77.0.1–4; the driver's namespace is 10.77.0.100; these addresses exist
# only inside the namespaces this script creates and removes). The relays
# mesh over TLS with a throw-away CA (tls_ca_file), every one dialling the
# other three, with mesh.link_timeout_seconds 3. hd-mesh-check then runs
# clients on all of them and shows: all-pairs delivery (contents, order),
# PeerGone by derper's rule, handover of a key between relays, a cut link
# (packets to relay 2 dropped inside relay 1's namespace) detected within a
# bound, counted and healed without duplicates, a SIGKILLed relay restarted
# and rejoining, and a 1,000-client flood after which every relay's view of
# the others' keys (/debug/mesh) matches their clients (/debug/peers).
#
# The driver calls back into this script for what only it can do:
#   region-mesh.sh --hook cut|heal|kill|restart|check WORKDIR
set -uo pipefail

RELAYS=4
PORT=8443
LINK_TIMEOUT=3
# Detection bound asserted for a cut link: the link timeout plus a ping
# period and the metrics poll, with room for a loaded CI machine.
DETECT_BOUND=15

say() { echo "$@"; }
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; FAILED=1; }
FAILED=0

ns_of() { echo "$TAG-$1"; }
relay_ip() { echo "10.77.0.$1"; }
in_client() { ip netns exec "$(ns_of cl)" "$@"; }
check_py() { in_client python3 "$ROOT/Tests/suites/region-mesh-check.py" "$@"; }
all_ips() { for i in $(seq 1 $RELAYS); do relay_ip "$i"; done; }

start_relay() {
  local i=$1
  ip netns exec "$(ns_of r$i)" "$BIN/hyper-derp" --config "$WORK/r$i.yaml" >>"$WORK/r$i.log" 2>&1 &
  echo $! >"$WORK/r$i.pid"
}

# ---- hooks (run by hd-mesh-check inside the client namespace) ----
if [ "${1:-}" = "--hook" ]; then
  HOOK=$2
  WORK=$3
  # shellcheck disable=SC1091
  source "$WORK/state"
  case $HOOK in
    cut)
      before1=$(check_py metric "$(relay_ip 1)" hyper_derp_mesh_link_losses_total)
      before2=$(check_py metric "$(relay_ip 2)" hyper_derp_mesh_link_losses_total)
      ip -n "$(ns_of r1)" route add blackhole "$(relay_ip 2)/32"
      if took=$(check_py links 2 $DETECT_BOUND "$(relay_ip 1)" "$(relay_ip 2)"); then
        pass "link cut: relays 1 and 2 both dropped their link within ${took} s (bound $DETECT_BOUND s, link timeout $LINK_TIMEOUT s); relays 3 and 4 kept theirs"
      else
        fail "link cut: not detected within $DETECT_BOUND s: $took"
      fi
      after1=$(check_py metric "$(relay_ip 1)" hyper_derp_mesh_link_losses_total)
      after2=$(check_py metric "$(relay_ip 2)" hyper_derp_mesh_link_losses_total)
      if [ "$after1" -gt "$before1" ] && [ "$after2" -gt "$before2" ]; then
        pass "link cut: counted in hyper_derp_mesh_link_losses_total on both (relay 1: $before1→$after1, relay 2: $before2→$after2)"
      else
        fail "link cut: losses not counted (relay 1: $before1→$after1, relay 2: $before2→$after2)"
      fi
      for other in 3 4; do
        up=$(check_py metric "$(relay_ip $other)" hyper_derp_mesh_peers_connected)
        [ "$up" = 3 ] || fail "link cut: relay $other lost links too ($up up)"
      done
      ;;
    heal)
      ip -n "$(ns_of r1)" route del blackhole "$(relay_ip 2)/32"
      # shellcheck disable=SC2046
      if took=$(check_py links 3 30 $(all_ips)); then
        pass "link heal: every relay has its 3 links again ${took} s after the route returned"
      else
        fail "link heal: $took"
      fi
      ;;
    kill)
      kill -9 "$(cat "$WORK/r3.pid")"
      wait_pid=$(cat "$WORK/r3.pid")
      for _ in $(seq 1 50); do kill -0 "$wait_pid" 2>/dev/null || break; sleep 0.1; done
      if took=$(check_py links 2 $DETECT_BOUND "$(relay_ip 1)" "$(relay_ip 2)" "$(relay_ip 4)"); then
        pass "kill: relay 3 SIGKILLed; relays 1, 2 and 4 dropped their link to it within ${took} s"
      else
        fail "kill: the others did not notice relay 3 died: $took"
      fi
      ;;
    restart)
      start_relay 3
      # shellcheck disable=SC2046
      if took=$(check_py links 3 30 $(all_ips)); then
        pass "restart: relay 3 rejoined, every relay has its 3 links again in ${took} s"
      else
        fail "restart: $took"
      fi
      ;;
    check)
      # shellcheck disable=SC2046
      if out=$(check_py converged 30 $(all_ips)); then
        pass "flood: converged in ${out%% *} s: each relay's remote keys (/debug/mesh) equal the other relays' clients (/debug/peers); every live flood client connected, no departed one known anywhere (remote keys per relay: ${out#* })"
      else
        fail "flood: $out"
      fi
      ;;
    *) fail "unknown hook $HOOK" ;;
  esac
  exit $FAILED
fi

# ---- the suite ----
cd "$(dirname "$0")/../.." || exit 1
ROOT=$(pwd)
STARTED=$(date +%s)
if [ "$(id -u)" != 0 ]; then
  echo "FAIL region-mesh: needs root for network namespaces"
  exit 1
fi
BIN=$ROOT/.build/release
[ -x "$BIN/hyper-derp" ] && [ -x "$BIN/hd-mesh-check" ] || BIN=$ROOT/.build/debug
if [ ! -x "$BIN/hyper-derp" ] || [ ! -x "$BIN/hd-mesh-check" ]; then
  echo "FAIL region-mesh: build hyper-derp and hd-mesh-check first (swift build -c release)"
  exit 1
fi
TAG=hdm$$
WORK=$(mktemp -d /tmp/hd-region.XXXXXX)

cleanup() {
  for i in $(seq 1 $RELAYS); do
    [ -f "$WORK/r$i.pid" ] && kill -9 "$(cat "$WORK/r$i.pid")" 2>/dev/null
  done
  wait 2>/dev/null
  for ns in $(ip netns list | awk '{print $1}' | grep "^$TAG-"); do ip netns del "$ns"; done
  if [ "$FAILED" != 0 ]; then
    for i in $(seq 1 $RELAYS); do echo "--- relay $i log (last 15 lines)"; tail -15 "$WORK/r$i.log" 2>/dev/null; done
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# Namespaces: a bridge, four relays, one client namespace; veths are created
# inside the bridge namespace and their peers moved into the others.
ip netns add "$(ns_of br)" || { fail "region-mesh: ip netns add"; exit 1; }
ip -n "$(ns_of br)" link add br0 type bridge
ip -n "$(ns_of br)" link set br0 up
for n in $(seq 1 $RELAYS) cl; do
  ns=$(ns_of "$([ "$n" = cl ] && echo cl || echo "r$n")")
  ip netns add "$ns"
  ip -n "$(ns_of br)" link add "v$n" type veth peer name eth0 netns "$ns"
  ip -n "$(ns_of br)" link set "v$n" master br0 up
  ip -n "$ns" addr add "10.77.0.$([ "$n" = cl ] && echo 100 || echo "$n")/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
done

# A throw-away CA and one certificate per relay for its IP.
openssl_quiet() { openssl "$@" >/dev/null 2>&1; }
openssl_quiet req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORK/ca.key" \
  -out "$WORK/ca.pem" -days 2 -subj "/CN=hd region test CA"
openssl rand -hex 32 >"$WORK/mesh.key"
chmod 600 "$WORK/mesh.key"
for i in $(seq 1 $RELAYS); do
  openssl_quiet req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORK/r$i.key" \
    -out "$WORK/r$i.csr" -subj "/CN=relay$i"
  printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$(relay_ip "$i")" >"$WORK/r$i.ext"
  openssl_quiet x509 -req -in "$WORK/r$i.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -CAcreateserial \
    -days 2 -out "$WORK/r$i.pem" -extfile "$WORK/r$i.ext"
  peers=""
  for j in $(seq 1 $RELAYS); do
    [ "$j" = "$i" ] || peers="$peers${peers:+, }https://$(relay_ip "$j"):$PORT"
  done
  cat >"$WORK/r$i.yaml" <<EOF
port: $PORT
bind: [$(relay_ip "$i")]
workers: 1
tls_cert: $WORK/r$i.pem
tls_key: $WORK/r$i.key
ktls: off
tls_ca_file: $WORK/ca.pem
key_file: $WORK/r$i.derp.key
mesh:
  key_file: $WORK/mesh.key
  peers: [$peers]
  link_timeout_seconds: $LINK_TIMEOUT
metrics:
  port: 9090
  bind: [$(relay_ip "$i")]
  debug_endpoints: true
EOF
done
cat >"$WORK/state" <<EOF
TAG=$TAG
ROOT=$ROOT
BIN=$BIN
EOF

for i in $(seq 1 $RELAYS); do start_relay "$i"; done
# shellcheck disable=SC2046
if took=$(check_py links 3 30 $(all_ips)); then
  pass "region: $RELAYS relays in their own namespaces, full mesh over TLS (private CA via tls_ca_file), every relay has its $((RELAYS - 1)) links after ${took} s"
else
  fail "region: the mesh did not come up: $took"
  exit 1
fi

SELF="bash $ROOT/Tests/suites/region-mesh.sh --hook"
relays_arg=$(for i in $(seq 1 $RELAYS); do printf '%s:%s:9090,' "$(relay_ip "$i")" "$PORT"; done)
# REGION_SCENARIOS / REGION_FLOOD narrow a run while working on one scenario.
in_client timeout 180 "$BIN/hd-mesh-check" --relays "${relays_arg%,}" --ca "$WORK/ca.pem" --dir "$WORK" \
  --scenarios "${REGION_SCENARIOS:-all-pairs,peergone,handover,link-cut,kill,flood}" \
  --flood "${REGION_FLOOD:-1000}" --hook-cut "$SELF cut $WORK" --hook-heal "$SELF heal $WORK" --hook-kill "$SELF kill $WORK" \
  --hook-restart "$SELF restart $WORK" --hook-check "$SELF check $WORK"
driver=$?
[ $driver = 0 ] || FAILED=1
for i in $(seq 1 $RELAYS); do
  if ! kill -0 "$(cat "$WORK/r$i.pid")" 2>/dev/null; then fail "region: relay $i is not running at the end"; fi
done
say "region-mesh: $(( $(date +%s) - STARTED )) s"
exit $FAILED
