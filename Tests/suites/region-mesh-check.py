#!/usr/bin/env python3
"""Reads the region's relays through their metrics ports (run inside the
region test's client namespace by region-mesh.sh).

  links EXPECTED TIMEOUT RELAY...   wait until each RELAY has EXPECTED mesh
                                    links up; prints the seconds it took
  metric RELAY NAME                 prints a metric's value (0 when absent)
  converged TIMEOUT RELAY...        wait until every relay's /debug/mesh
                                    remote_keys equals the union of the other
                                    relays' /debug/peers keys; with
                                    HD_LIVE_KEYS / HD_GONE_KEYS files, also
                                    every live key is connected somewhere and
                                    no departed key is known anywhere
Relays are IP addresses; the metrics port is 9090. Exit 1 on timeout.
"""
import json
import os
import sys
import time
import urllib.request

PORT = 9090


def get(relay, path):
    with urllib.request.urlopen(f"http://{relay}:{PORT}{path}", timeout=5) as answer:
        return answer.read().decode()


def metric(relay, name):
    try:
        text = get(relay, "/metrics")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def wait(timeout, condition):
    start = time.monotonic()
    while True:
        if condition():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            return None
        time.sleep(0.1)


def links(expected, timeout, relays):
    took = wait(timeout, lambda: all(metric(r, "hyper_derp_mesh_peers_connected") == expected for r in relays))
    if took is None:
        now = {r: metric(r, "hyper_derp_mesh_peers_connected") for r in relays}
        print(f"links: after {timeout} s: {now}, want {expected} each")
        return 1
    print(f"{took:.1f}")
    return 0


def keys_file(variable):
    path = os.environ.get(variable)
    if not path:
        return set()
    with open(path) as f:
        return {line.strip() for line in f if line.strip()}


def converged(timeout, relays):
    live, gone = keys_file("HD_LIVE_KEYS"), keys_file("HD_GONE_KEYS")
    state = {}

    def check():
        try:
            peers = {r: {p["key"] for p in json.loads(get(r, "/debug/peers"))["peers"]} for r in relays}
            remote = {r: set(json.loads(get(r, "/debug/mesh"))["remote_keys"]) for r in relays}
        except (OSError, ValueError, KeyError) as error:
            state["why"] = f"fetch failed: {error}"
            return False
        everywhere = set().union(*peers.values())
        problems = []
        for r in relays:
            expected = set().union(*(peers[o] for o in relays if o != r))
            if remote[r] != expected:
                problems.append(f"{r}: {len(expected - remote[r])} keys missing, {len(remote[r] - expected)} stale")
        if not live <= everywhere:
            problems.append(f"{len(live - everywhere)} live flood clients not connected anywhere")
        known = everywhere.union(*remote.values())
        if gone & known:
            problems.append(f"{len(gone & known)} departed flood clients still known")
        state["why"] = "; ".join(problems)
        state["sizes"] = {r: len(remote[r]) for r in relays}
        return not problems

    took = wait(timeout, check)
    if took is None:
        print(f"converged: not after {timeout} s: {state.get('why')}")
        return 1
    print(f"{took:.1f} {state['sizes']}")
    return 0


def main(argv):
    command = argv[1]
    if command == "links":
        return links(float(argv[2]), float(argv[3]), argv[4:])
    if command == "metric":
        value = metric(argv[2], argv[3])
        print(int(value) if value is not None else -1)
        return 0
    if command == "converged":
        return converged(float(argv[2]), argv[3:])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
