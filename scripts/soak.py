#!/usr/bin/env python3
"""The soak behind `make soak` (scripts/soak.sh, docs/robustness.md).

Two relays on loopback with metrics on, one plain and one TLS (the DERP port
speaks one or the other), under mixed load for --seconds:
  - long-lived peers with paced traffic (hd-bench throughput: 2,000 peers on
    the plain relay, 200 on the TLS one), data checked end to end;
  - churn: handshakes that close (hd-bench connrate) and upgrades cut by RST;
  - slow readers: registered peers that read a little per second while a
    sender floods them (provokes queue_head/queue_tail drops);
  - malformed and oversize frames and heads at a low rate;
  - SIGHUP every --sighup seconds; a /metrics scrape every second.
Samples every --sample seconds: RSS, fds, CPU, pool bytes in use (queue
depth), connections, drop counters by reason. Writes soak.csv, soak.png and
summary.md to --out. Exit 0 = pass: RSS and fds flat after warm-up, no drop
reason the load did not provoke, every long-lived pair's data intact.
"""
import argparse, csv, json, os, random, signal, socket, ssl, struct, subprocess, sys, threading, time, urllib.request

import nacl.public

PROVOKED_DROPS = {"queue_head", "queue_tail", "unknown_dest", "write_error", "gone_disconnected"}
UPGRADE = b"GET /derp HTTP/1.1\r\nHost: soak\r\nUpgrade: DERP\r\nConnection: Upgrade\r\n\r\n"

stop = threading.Event()
counts = {"scrapes": 0, "scrape_failures": 0, "churn_rounds": 0, "churn_failures": 0, "rst": 0, "malformed": 0,
          "slow_reader_bytes": 0, "slow_sender_packets": 0, "sighups": 0}
lock = threading.Lock()


def bump(key, n=1):
    with lock:
        counts[key] += n


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def frame(t, payload):
    return struct.pack(">BI", t, len(payload)) + payload


def recv_exact(sock, n):
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise ConnectionError("closed")
        out += chunk
    return out


def derp_connect(port, tls=False):
    """Upgrade, read ServerKey, send a sealed ClientInfo; returns (socket, public key bytes)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        sock = ctx.wrap_socket(sock)
    sock.sendall(UPGRADE)
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    t, n = struct.unpack(">BI", recv_exact(sock, 5))
    payload = recv_exact(sock, n)
    server_key = nacl.public.PublicKey(payload[8:40])
    own = nacl.public.PrivateKey.generate()
    sealed = nacl.public.Box(own, server_key).encrypt(b'{"version":2}')
    sock.sendall(frame(0x02, bytes(own.public_key) + bytes(sealed)))
    t, n = struct.unpack(">BI", recv_exact(sock, 5))  # ServerInfo
    recv_exact(sock, n)
    return sock, bytes(own.public_key)


def metrics(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


def metric_values(text, name):
    """{label-string: value} for one metric family."""
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            key, _, value = line.rpartition(" ")
            out[key[len(name):]] = float(value)
    return out


def proc_sample(pid):
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu_ticks = int(fields[11]) + int(fields[12])
    return rss, fds, cpu_ticks


# --- load threads -----------------------------------------------------------

def scraper(ports):
    while not stop.is_set():
        for p in ports:
            try:
                metrics(p)
                bump("scrapes")
            except Exception:
                bump("scrape_failures")
        stop.wait(1.0)


def churn(bench, port, tls):
    while not stop.is_set():
        if tls:
            try:
                s, _ = derp_connect(port, tls=True)
                s.close()
                bump("churn_rounds")
            except Exception:
                bump("churn_failures")
            stop.wait(0.5)
            continue
        r = subprocess.run([bench, "connrate", "--port", str(port), "--count", "50", "--concurrency", "10",
                            "--timeout", "20"], capture_output=True)
        bump("churn_rounds" if r.returncode == 0 else "churn_failures")
        stop.wait(1.0)


def rst_churn(port):
    while not stop.is_set():
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(UPGRADE)
            s.recv(64)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
            bump("rst")
        except Exception:
            pass
        stop.wait(0.2)


def malformed(port):
    kinds = [
        lambda: UPGRADE + struct.pack(">BI", 0x02, 0x7FFFFFFF) + b"x" * 64,     # oversize first frame
        lambda: UPGRADE + frame(0x02, os.urandom(80)),                          # ClientInfo that opens nothing
        lambda: b"GET /derp HTTP/1.1\r\n" + b"X-Junk: " + b"a" * 20000,         # head over the limit
        lambda: os.urandom(300),                                                # not HTTP at all
    ]
    i = 0
    while not stop.is_set():
        try:
            if i % 5 == 4:
                # A registered peer sending an oversize frame and unknown types.
                s, _ = derp_connect(port)
                s.sendall(frame(0x99, b"?" * 100) + frame(0x04, os.urandom(32) + b"to nobody")
                          + struct.pack(">BI", 0x04, 1 << 20))
            else:
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                s.sendall(kinds[i % 4]())
            s.settimeout(2)
            try:
                while s.recv(4096):
                    pass
            except Exception:
                pass
            s.close()
            bump("malformed")
        except Exception:
            pass
        i += 1
        stop.wait(5.0)


def slow_readers(port, readers=20):
    """Peers with tiny receive buffers reading ~2 KB/s each, flooded by one sender."""
    sinks = []
    for _ in range(readers):
        s, key = derp_connect(port)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.setblocking(False)
        sinks.append((s, key))
    sender, _ = derp_connect(port)
    packet = b"s" * 1000

    def drain():
        while not stop.is_set():
            for s, _ in sinks:
                try:
                    bump("slow_reader_bytes", len(s.recv(2048)))
                except (BlockingIOError, ssl.SSLWantReadError):
                    pass
                except Exception:
                    pass
            stop.wait(1.0)

    threading.Thread(target=drain, daemon=True).start()
    sender.settimeout(1)
    while not stop.is_set():
        for _, key in sinks:
            try:
                sender.sendall(frame(0x04, key + packet))
                bump("slow_sender_packets")
            except socket.timeout:
                pass
            except Exception:
                return
        # Drain whatever comes back to the sender (PeerGone, keepalives).
        sender.setblocking(False)
        try:
            while sender.recv(65536):
                pass
        except Exception:
            pass
        sender.settimeout(1)
        stop.wait(0.05)


def sighupper(pids, period):
    while not stop.wait(period):
        for pid in pids:
            os.kill(pid, signal.SIGHUP)
        bump("sighups")


# --- analysis -----------------------------------------------------------------

def slope_per_minute(xs, ys):
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return 0.0 if den == 0 else sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den * 60


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="directory with hyper-derp and hd-bench")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seconds", type=int, default=1800)
    ap.add_argument("--warmup", type=int, default=600)
    ap.add_argument("--sample", type=int, default=10)
    ap.add_argument("--sighup", type=int, default=60)
    ap.add_argument("--peers", type=int, default=2000)
    ap.add_argument("--tls-peers", type=int, default=200)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    relay_bin = os.path.join(args.bin, "hyper-derp")
    bench = os.path.join(args.bin, "hd-bench")

    relays = {}
    procs = []
    for name, tls in (("plain", False), ("tls", True)):
        port, mport = free_port(), free_port()
        cfg = os.path.join(args.out, f"{name}.yaml")
        with open(cfg, "w") as f:
            f.write(f"port: {port}\nbind: [127.0.0.1]\nworkers: 2\nlog_level: warn\n"
                    f"key_file: {args.out}/{name}.key\nmetrics:\n  port: {mport}\n  bind: [127.0.0.1]\n")
            if tls:
                f.write(f"tls_cert: {args.cert}\ntls_key: {args.key}\n")
        log = open(os.path.join(args.out, f"{name}.log"), "w")
        p = subprocess.Popen([relay_bin, "--config", cfg], stdout=log, stderr=log)
        procs.append(p)
        relays[name] = {"port": port, "metrics": mport, "pid": p.pid, "tls": tls}
    for r in relays.values():
        for _ in range(100):
            try:
                metrics(r["metrics"])
                break
            except Exception:
                time.sleep(0.1)
        else:
            sys.exit("relay did not come up: see " + args.out)

    duration = args.seconds
    benches = []
    for name, peers, rate in (("plain", args.peers, 16), ("tls", args.tls_peers, 4)):
        r = relays[name]
        cmd = [bench, "throughput", "--port", str(r["port"]), "--peers", str(peers), "--pairs", str(peers // 2),
               "--msg-size", "1000", "--rate-mbps", str(rate), "--duration", str(duration), "--warmup", "0",
               "--drain", "5", "--json", "--output", os.path.join(args.out, f"pairs-{name}.json")]
        if r["tls"]:
            cmd.append("--tls")
        benches.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                        stderr=open(os.path.join(args.out, f"pairs-{name}.log"), "w")))
    threads = [
        threading.Thread(target=scraper, args=([r["metrics"] for r in relays.values()],)),
        threading.Thread(target=churn, args=(bench, relays["plain"]["port"], False)),
        threading.Thread(target=churn, args=(bench, relays["tls"]["port"], True)),
        threading.Thread(target=rst_churn, args=(relays["plain"]["port"],)),
        threading.Thread(target=malformed, args=(relays["plain"]["port"],)),
        threading.Thread(target=slow_readers, args=(relays["plain"]["port"],)),
        threading.Thread(target=sighupper, args=([r["pid"] for r in relays.values()], args.sighup)),
    ]
    for t in threads:
        t.daemon = True
        t.start()

    rows = []
    start = time.time()
    last_cpu = {n: (start, proc_sample(r["pid"])[2]) for n, r in relays.items()}
    hz = os.sysconf("SC_CLK_TCK")
    while time.time() - start < duration:
        time.sleep(args.sample)
        now = time.time()
        # Sample only under the full load: once a long-lived generator has
        # finished, the peers are leaving and a sample would read as drift.
        if any(b.poll() is not None for b in benches):
            break
        for name, r in relays.items():
            rss, fds, ticks = proc_sample(r["pid"])
            t0, c0 = last_cpu[name]
            cpu = 100.0 * (ticks - c0) / hz / (now - t0)
            last_cpu[name] = (now, ticks)
            try:
                text = metrics(r["metrics"])
            except Exception:
                text = ""
            drops = {}
            for k, v in metric_values(text, "hyper_derp_packets_dropped_total").items():
                reason = k.split('reason="')[1].split('"')[0] if 'reason="' in k else k
                drops[reason] = drops.get(reason, 0) + v
            pool = sum(metric_values(text, "hyper_derp_worker_pool_in_use_bytes").values())
            conns = sum(metric_values(text, "hyper_derp_connections").values())
            row = {"t_s": round(now - start, 1), "relay": name, "rss_kib": rss, "fds": fds, "cpu_pct": round(cpu, 1),
                   "pool_in_use_bytes": int(pool), "connections": int(conns),
                   "drops_total": int(sum(drops.values())), "drops": json.dumps(drops, sort_keys=True)}
            rows.append(row)
        print(f"soak: {int(now - start)}s " + " ".join(
            f"{r['relay']} rss={r['rss_kib']}KiB fds={r['fds']} cpu={r['cpu_pct']}%" for r in rows[-2:]), flush=True)

    stop.set()
    for b in benches:
        try:
            b.wait(timeout=120)
        except subprocess.TimeoutExpired:
            b.kill()
    alive = [p.poll() is None for p in procs]
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()

    with open(os.path.join(args.out, "soak.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)

    verdict = []
    summary = [f"# Soak {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(start))}", "",
               f"{duration} s, samples every {args.sample} s, warm-up {args.warmup} s excluded from slopes.", "",
               "| relay | RSS start→end (MiB) | RSS slope after warm-up (KiB/min) | fds slope (fds/min) | "
               "CPU mean % | drops by reason |", "|---|---|---:|---:|---:|---|"]
    for name in relays:
        rs = [r for r in rows if r["relay"] == name]
        warm = [r for r in rs if r["t_s"] >= args.warmup] or rs
        rss_slope = slope_per_minute([r["t_s"] for r in warm], [r["rss_kib"] for r in warm])
        fd_slope = slope_per_minute([r["t_s"] for r in warm], [r["fds"] for r in warm])
        drops = json.loads(rs[-1]["drops"]) if rs else {}
        unexpected = {k: v for k, v in drops.items() if v > 0 and k not in PROVOKED_DROPS}
        summary.append(f"| {name} | {rs[0]['rss_kib'] / 1024:.1f} → {rs[-1]['rss_kib'] / 1024:.1f} | {rss_slope:.1f} | "
                       f"{fd_slope:.2f} | {sum(r['cpu_pct'] for r in rs) / len(rs):.1f} | {drops} |")
        # Flat: under 1 MiB per 10 minutes of RSS drift, under 1 fd per minute.
        if rss_slope > 100:
            verdict.append(f"{name}: RSS grows {rss_slope:.0f} KiB/min after warm-up")
        if abs(fd_slope) > 1:
            verdict.append(f"{name}: fds drift {fd_slope:.2f}/min after warm-up")
        if unexpected:
            verdict.append(f"{name}: unprovoked drops {unexpected}")
    for name in relays:
        path = os.path.join(args.out, f"pairs-{name}.json")
        try:
            with open(path) as f:
                result = json.load(f)
            run = result["runs"][0] if "runs" in result else result
            corrupt = run.get("corrupt_streams", 0)
            sent, recv = run.get("messages_sent", 0), run.get("messages_recv", 0)
            summary.append(f"\nLong-lived pairs ({name}): sent {sent}, received {recv}, corrupt streams {corrupt}, "
                           f"loss {run.get('message_loss_pct', '?')} %.")
            if corrupt:
                verdict.append(f"{name}: {corrupt} corrupt long-lived streams")
            if sent == 0:
                verdict.append(f"{name}: long-lived pairs sent nothing")
        except Exception as e:
            verdict.append(f"{name}: no long-lived pair result ({e})")
    if not all(alive):
        verdict.append("a relay exited during the soak")
    summary.append("\nLoad counters: " + json.dumps(counts, sort_keys=True))
    summary.append("\nVerdict: " + ("PASS" if not verdict else "FAIL: " + "; ".join(verdict)))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(4, 1, figsize=(10, 12), sharex=True)
        for name in relays:
            rs = [r for r in rows if r["relay"] == name]
            t = [r["t_s"] / 60 for r in rs]
            axes[0].plot(t, [r["rss_kib"] / 1024 for r in rs], label=f"{name} RSS MiB")
            axes[1].plot(t, [r["fds"] for r in rs], label=f"{name} fds")
            axes[2].plot(t, [r["cpu_pct"] for r in rs], label=f"{name} CPU %")
            axes[3].plot(t, [r["pool_in_use_bytes"] / 1024 for r in rs], label=f"{name} pool KiB in use")
        for a in axes:
            a.legend(loc="upper left")
            a.axvline(args.warmup / 60, color="grey", linestyle=":")
        axes[3].set_xlabel("minutes")
        fig.tight_layout()
        fig.savefig(os.path.join(args.out, "soak.png"), dpi=80)
    except ImportError:
        summary.append("\n(no matplotlib: no plot; apt-get install python3-matplotlib)")
    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write("\n".join(summary) + "\n")
    print("\n".join(summary))
    sys.exit(0 if not verdict else 1)


if __name__ == "__main__":
    main()
