#!/usr/bin/env python3
"""The systemd VM scenario (Tests/suites/systemd-vm.sh runs it): one QEMU
process, two boots of a clean bookworm system with systemd as PID 1.

Boot 1: install hyper-derp N from the .deb (dependencies must already be
satisfied: the image holds only what the package's Depends names), the
service comes up through Type=notify under its full hardening, a DERP client
on the host talks to it through the port forward, reload / broken reload /
restart / stop behave, the journal gets the logs (JSON with log_format:
json), systemd-analyze passes on the live unit, and N+1 upgrades it keeping
a changed conffile.
Boot 2 (a reboot of the same system): the service is back, tls was loaded
at boot from the package's modules-load.d, TLS on 443 switches connections
to kernel TLS, then remove stops it and purge leaves nothing of ours.

  scenario.py IMAGE_DIR PAYLOAD_TAR WORK HD_TLS_CHECK VERSION_N VERSION_N1
Prints PASS/FAIL lines; exit 0 when everything passed."""

import json
import os
import re
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vm import VM, AgentError  # noqa: E402

IMAGE_DIR, PAYLOAD_TAR, WORK, HD_TLS_CHECK, VERSION_N, VERSION_N1 = sys.argv[1:7]
CONFIG = "/etc/hyper-derp/hyper-derp.yaml"
failures = 0
checks = 0


def check(ok, what, detail=""):
    global failures, checks
    checks += 1
    print(("PASS " if ok else "FAIL ") + "systemd-vm: " + what, flush=True)
    if not ok:
        failures += 1
        if detail:
            print("  " + detail.strip().replace("\n", "\n  ")[-3000:], flush=True)
    return ok


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def host_client(port, plain):
    """hd-tls-check on the host against the guest's relay, through the forward."""
    args = [HD_TLS_CHECK, "--connect", str(port)] + (["--plain"] if plain else [])
    try:
        result = subprocess.run(args, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return 124, "timed out", None
    output = result.stdout + result.stderr
    key = re.search(r"^server key: (nodekey:[0-9a-f]{64})$", output, re.M)
    return result.returncode, output, key.group(1) if key else None


def show(vm, *properties):
    rc, out = vm.run("systemctl show hyper-derp.service " + " ".join("-p " + p for p in properties))
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def wait_for_journal(pid, text):
    """A guest snippet that waits (bounded) for the daemon process to log text, then prints the lines."""
    return (f"for i in $(seq 120); do journalctl -u hyper-derp -o cat _PID={pid} | grep -q '{text}' && break; "
            f"sleep 0.5; done; journalctl -u hyper-derp -o cat _PID={pid} | grep '{text}'")


def journal_keys(vm, pid):
    _, out = vm.run(f"journalctl -u hyper-derp.service -o cat _PID={pid}")
    return set(re.findall(r"nodekey:[0-9a-f]{64}", out))


plain_port, tls_port = free_port(), free_port()
vm = VM(IMAGE_DIR, PAYLOAD_TAR, WORK, [(plain_port, 3340), (tls_port, 443)])
started = time.monotonic()
try:
    vm.start()
    state = vm.wait_ready(240)
    _, init = vm.run("readlink /proc/1/exe; systemctl list-units --failed --no-legend")
    check(state == "running" and init.splitlines()[0].endswith("/systemd"),
          f"bookworm booted with systemd as PID 1 (state {state}, {time.monotonic() - started:.0f} s)", init)
    print(f"systemd-vm: boot 1 took {time.monotonic() - started:.0f} s", flush=True)

    # Everything of the system before our package, to compare after purge.
    snapshot = ("find / -xdev \\( -path /proc -o -path /sys -o -path /run -o -path /tmp -o -path /var/log "
                "-o -path /var/cache -o -path /var/tmp \\) -prune -o -print | sort")
    vm.run(f"mkdir -p /run/payload && tar -xf /dev/vdb -C /run/payload && {snapshot} > /var/tmp/hd-before.txt")

    # --- install N: dependencies come only from the image (no network, no apt lists)
    rc, out = vm.run(f"DEBIAN_FRONTEND=noninteractive apt-get install -y "
                     f"/run/payload/hyper-derp_{VERSION_N}_amd64.deb 2>&1; "
                     f"dpkg-query -W -f='${{Status}} ${{Version}}' hyper-derp", timeout=300)
    check(rc == 0 and f"install ok installed {VERSION_N}" in out,
          f"apt installs hyper-derp {VERSION_N} with every dependency already satisfied", out)
    rc, out = vm.run("for b in /usr/bin/hyper-derp /usr/bin/hdctl; do ldd $b; done")
    libraries = re.findall(r"=> (\S+)", out)
    # merged /usr: dpkg knows some libraries by their /lib path, others by the /usr/lib one.
    rc2, owners = vm.run("for b in /usr/bin/hyper-derp /usr/bin/hdctl; do for l in $(ldd $b | grep -o '=> /[^ ]*' | "
                         "cut -c4-); do dpkg -S \"$l\" 2>/dev/null || dpkg -S \"$(readlink -f $l)\" 2>/dev/null || "
                         "echo \"NOT-DEBIAN $l\"; done; done")
    rc2 = 1 if "NOT-DEBIAN" in owners else 0
    check(rc == 0 and libraries and "not found" not in out and "swift" not in out and rc2 == 0,
          "ldd of both installed binaries names only Debian libraries", out + owners)

    # --- Type=notify, hardening, io_uring
    props = show(vm, "ActiveState", "Type", "NotifyAccess", "StatusText", "MainPID", "DynamicUser",
                 "NoNewPrivileges", "ProtectSystem", "ProtectKernelModules", "MemoryDenyWriteExecute",
                 "SystemCallFilter", "RestrictAddressFamilies", "CapabilityBoundingSet", "PrivateDevices")
    check(props.get("ActiveState") == "active" and props.get("Type") == "notify"
          and props.get("StatusText", "").startswith("serving DERP on port 3340"),
          "the service is active through Type=notify (READY=1 with its status text)", str(props))
    pid = props.get("MainPID", "0")
    hardened = (props.get("DynamicUser") == "yes" and props.get("NoNewPrivileges") == "yes"
                and props.get("ProtectSystem") == "strict" and props.get("ProtectKernelModules") == "yes"
                and props.get("MemoryDenyWriteExecute") == "yes" and props.get("SystemCallFilter", "") != ""
                and props.get("CapabilityBoundingSet") == "cap_net_bind_service")
    _, status = vm.run(f"grep -E '^(Uid|Seccomp|NoNewPrivs|CapEff|CapBnd):' /proc/{pid}/status")
    fields = dict(re.findall(r"^(\w+):\s+(\S+)", status, re.M))
    uid = int(fields.get("Uid", "0"))
    check(hardened and fields.get("Seccomp") == "2" and fields.get("NoNewPrivs") == "1"
          and 61184 <= uid <= 65519 and fields.get("CapBnd") == "0000000000000400",
          f"runs hardened: dynamic uid {uid}, seccomp filter, no_new_privs, only CAP_NET_BIND_SERVICE",
          str(props) + "\n" + status)
    _, fds = vm.run(f"ls -l /proc/{pid}/fd | grep -c 'anon_inode:\\[io_uring\\]'")
    check(fds.strip().isdigit() and int(fds) >= 1, f"io_uring works under the unit's filters ({fds.strip()} rings)")

    # --- DERP from the host through the forward
    rc, out, key1 = host_client(plain_port, plain=True)
    check(rc == 0 and key1 is not None, "a DERP client on the host handshakes and exchanges packets through the forward", out)
    check(key1 in journal_keys(vm, pid), "the journal (journalctl -u hyper-derp) has the daemon's logs with its key")
    rc, out = vm.run("test -s /var/lib/hyper-derp/derp.key && stat -c '%a %U' /var/lib/private/hyper-derp/derp.key")
    check(rc == 0 and out.startswith("600 "), "the server key lives in /var/lib/hyper-derp, mode 0600", out)

    # --- reload: a new log level; a broken file is refused and the old config keeps serving
    rc, out = vm.run(f"sed -i 's/^log_level: info$/log_level: debug/' {CONFIG} && systemctl reload hyper-derp && "
                     f"{wait_for_journal(pid, 'reload: applied')}")
    check(rc == 0 and "log_level: info -> debug" in out, "systemctl reload applies a new log level", out)
    rc, out = vm.run(f"cp {CONFIG} /run/good.yaml && printf 'port: [\\n' >> {CONFIG} && systemctl reload hyper-derp")
    after = show(vm, "ActiveState", "MainPID")
    check(rc != 0 and after.get("ActiveState") == "active" and after.get("MainPID") == pid,
          "a broken config is refused by ExecReload; the same process keeps running", out + str(after))
    rc, out, _ = host_client(plain_port, plain=True)
    check(rc == 0, "... and keeps serving DERP with the old config", out)
    _, journal = vm.run("journalctl -u hyper-derp -o cat | grep -cE 'hyper-derp.yaml:[0-9]+:[0-9]+: error' || true")
    check(journal.strip() not in ("", "0"), "the refusal names the file and line in the journal", journal)
    vm.run(f"cp /run/good.yaml {CONFIG}")

    # --- JSON logs and a restart: the key survives
    rc, out = vm.run(f"sed -i 's/^log_format: text$/log_format: json/' {CONFIG} && systemctl restart hyper-derp")
    pid2 = show(vm, "MainPID").get("MainPID")
    _, lines = vm.run(f"journalctl -u hyper-derp -o cat _PID={pid2}")
    parsed = 0
    bad = []
    for line in lines.splitlines():
        try:
            json.loads(line)
            parsed += 1
        except ValueError:
            bad.append(line)
    check(rc == 0 and parsed > 0 and not bad, f"with log_format: json all {parsed} journal lines parse as JSON",
          "\n".join(bad[:5]))
    rc, out, key2 = host_client(plain_port, plain=True)
    check(rc == 0 and pid2 != pid and key2 == key1, "after systemctl restart the server key is the same", f"{key1} {key2}")

    # --- stop: clean and inside TimeoutStopSec
    rc, out = vm.run("systemctl stop hyper-derp")
    props = show(vm, "ActiveState", "Result", "ExecMainStatus", "ExecMainCode", "ActiveExitTimestampMonotonic",
                 "InactiveEnterTimestampMonotonic", "TimeoutStopUSec")
    stop_seconds = (int(props.get("InactiveEnterTimestampMonotonic", 0)) -
                    int(props.get("ActiveExitTimestampMonotonic", 0))) / 1e6
    check(rc == 0 and props.get("Result") == "success" and props.get("ExecMainStatus") == "0"
          and props.get("ActiveState") == "inactive" and 0 <= stop_seconds < 15,
          f"systemctl stop ends it cleanly (exit 0, not killed) in {stop_seconds:.1f} s of TimeoutStopSec "
          f"{props.get('TimeoutStopUSec')}", str(props))
    vm.run("systemctl start hyper-derp")

    # --- systemd's own verdicts on the live unit
    rc, out = vm.run("systemd-analyze security --threshold=20 hyper-derp.service | tail -1")
    check(rc == 0, f"systemd-analyze security on the live unit: {out.strip()} (threshold 2.0)", out)
    rc, out = vm.run("systemd-analyze verify /lib/systemd/system/hyper-derp.service 2>&1")
    check(rc == 0 and out.strip() == "", "systemd-analyze verify is clean on the installed unit", out)

    # --- upgrade N -> N+1 keeps a locally changed conffile and restarts
    pid3 = show(vm, "MainPID").get("MainPID")
    vm.run(f"sed -i 's/^log_level: .*/log_level: warn/' {CONFIG} && echo '# changed by the operator' >> {CONFIG}")
    rc, out = vm.run(f"DEBIAN_FRONTEND=noninteractive apt-get install -y "
                     f"/run/payload/hyper-derp_{VERSION_N1}_amd64.deb 2>&1; "
                     f"dpkg-query -W -f='${{Version}}' hyper-derp", timeout=300)
    check(rc == 0 and out.endswith(VERSION_N1), f"upgrade {VERSION_N} -> {VERSION_N1} installs", out)
    rc, conf = vm.run(f"cat {CONFIG}")
    check("# changed by the operator" in conf and "log_level: warn" in conf,
          "the upgrade keeps the locally changed conffile")
    props = show(vm, "ActiveState", "MainPID")
    check(props.get("ActiveState") == "active" and props.get("MainPID") not in (pid3, "0"),
          "the upgrade restarted the service", str(props))

    # --- reboot: tls from modules-load.d, the service back by itself
    vm.run("systemd-run --no-block systemctl reboot")
    rebooted = time.monotonic()
    state = vm.wait_ready(240)
    print(f"systemd-vm: boot 2 took {time.monotonic() - rebooted:.0f} s", flush=True)
    vm.run("mkdir -p /run/payload && tar -xf /dev/vdb -C /run/payload")
    # Nothing else loads it: the unit may not (ProtectKernelModules), the test does not.
    rc, out = vm.run("grep '^tls ' /proc/modules && grep -x tls /usr/lib/modules-load.d/hyper-derp.conf && "
                     "systemctl is-active systemd-modules-load.service")
    check(rc == 0, "after a reboot the tls module was loaded at boot from modules-load.d", out)
    props = show(vm, "ActiveState", "MainPID")
    check(props.get("ActiveState") == "active", f"the enabled service is back after the reboot ({state})", str(props))

    # --- TLS on 443 with the production block: connections switch to kernel TLS.
    # The key is readable by the dynamic user through a group and a drop-in, as the
    # shipped config explains. The unit cannot load modules (ProtectKernelModules):
    # tls came from modules-load.d at boot (checked above), and the kernel itself
    # runs /sbin/modprobe (kmod, in Depends) for the AES-GCM modules at the first key.
    rc, out = vm.run(f"""set -e
getent group ssl-cert >/dev/null || groupadd --system ssl-cert
install -m 0644 /run/payload/cert.pem /etc/hyper-derp/cert.pem
install -m 0640 -g ssl-cert /run/payload/key.pem /etc/hyper-derp/key.pem
mkdir -p /etc/systemd/system/hyper-derp.service.d
printf '[Service]\\nSupplementaryGroups=ssl-cert\\n' > /etc/systemd/system/hyper-derp.service.d/tls-key.conf
sed -i -e 's/^#\\(port\\|tls_cert\\|tls_key\\):/\\1:/' -e '/^port: 3340$/d' -e 's/^#ktls: auto$/ktls: required/' \\
  -e 's/^log_level: .*/log_level: info/' {CONFIG}
grep -E '^(port|tls_cert|tls_key|ktls):' {CONFIG}
hdctl check-config {CONFIG}
systemctl daemon-reload
systemctl restart hyper-derp
journalctl -u hyper-derp -o cat _PID=$(systemctl show -p MainPID --value hyper-derp) | grep 'TLS on the DERP port'
""")
    if rc != 0:
        out += vm.run("systemctl status hyper-derp --no-pager -l -n 0; journalctl -u hyper-derp -o cat -n 25")[1]
    check(rc == 0 and "ktls: required" in out and "TLS on the DERP port: kernel TLS (ktls: required" in out,
          "with a certificate (key 0640 root:ssl-cert, SupplementaryGroups drop-in), ktls: required on port 443 "
          "starts under the hardened unit in kernel TLS mode", out)
    props = show(vm, "ActiveState", "MainPID", "DynamicUser", "ProtectKernelModules", "SupplementaryGroups",
                 "StatusText")
    pid = props.get("MainPID", "0")
    _, status = vm.run(f"grep -E '^(Uid|Groups|CapBnd):' /proc/{pid}/status; getent group ssl-cert")
    fields = dict(re.findall(r"^(\w+):\s*(.*)$", status, re.M))
    gid = (re.search(r"^ssl-cert:x:(\d+):", status, re.M) or [None, "?"])[1]
    check(props.get("ActiveState") == "active" and props.get("DynamicUser") == "yes"
          and props.get("ProtectKernelModules") == "yes" and props.get("SupplementaryGroups") == "ssl-cert"
          and gid in fields.get("Groups", "").split() and fields.get("CapBnd") == "0000000000000400"
          and int(fields.get("Uid", "0").split()[0]) >= 61184,
          f"... as the dynamic user with group ssl-cert ({gid}) added, capabilities unchanged", str(props) + "\n" + status)
    rc, out = vm.run("systemd-analyze security --threshold=20 hyper-derp.service | tail -1")
    check(rc == 0, f"systemd-analyze security with the drop-in: {out.strip()} (threshold 2.0)", out)

    stat = lambda text: dict((k, int(v)) for k, v in re.findall(r"^(\w+)\s+(\d+)$", text, re.M))
    _, before = vm.run("cat /proc/net/tls_stat")
    rc, client_out, _ = host_client(tls_port, plain=False)
    _, after = vm.run("cat /proc/net/tls_stat")
    check(rc == 0 and "RESULT PASS" in client_out,
          "TLS 1.2 and 1.3 DERP clients on the host exchange intact packets (0-65536 bytes, AES-128/256-GCM, "
          "ChaCha20) through port 443", client_out)
    # The daemon's own counts, from its metrics server inside the guest.
    _, scrape = vm.run("timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/9090; printf \"GET /metrics HTTP/1.1\\r\\n"
                       "Host: 127.0.0.1\\r\\nConnection: close\\r\\n\\r\\n\" >&3; cat <&3' || true")
    metric = lambda name: sum(int(v) for v in re.findall(r"^" + re.escape(name) + r"(?:\{[^}]*\})?\s+(\d+)$", scrape, re.M))
    handshakes12 = metric('hyper_derp_tls_handshakes_total{version="1.2"}')
    handshakes13 = metric('hyper_derp_tls_handshakes_total{version="1.3"}')
    installs = metric("hyper_derp_ktls_installs_total")
    b, a = stat(before), stat(after)
    tx, rx = a.get("TlsTxSw", 0) - b.get("TlsTxSw", 0), a.get("TlsRxSw", 0) - b.get("TlsRxSw", 0)
    device = sum(a.get(k, 0) - b.get(k, 0) for k in ("TlsTxDevice", "TlsRxDevice"))
    expected = re.search(r"^kernel TLS expected on (\d+)\.\.\.(\d+) relay connections", client_out, re.M)
    low, high = (int(expected[1]), int(expected[2])) if expected else (1, 0)
    # Each TLS version brings 6 DERP connections (+ a probe and a split-record one that
    # may switch); TLS 1.3 one more AES-128 peer of the ChaCha20 client. At least
    # `low` switches is more than either version alone can reach, so both did.
    check(tx == rx == installs and low <= tx <= high and device == 0,
          f"/proc/net/tls_stat moved: TlsTxSw +{tx}, TlsRxSw +{rx} (software kTLS, no device offload) = the relay's "
          f"{installs} kernel key installs, {low}..{high} expected", before + after + "\n" + client_out[-1500:])
    alerts = metric("hyper_derp_ktls_alerts_received_total")
    notify = metric('hyper_derp_tls_close_notify_received_total{path="kernel"}')
    check(handshakes12 > 0 and handshakes13 > 0 and alerts == 2 and notify >= 2
          and metric('hyper_derp_ktls_fallbacks_total{reason="cipher"}') == 1
          and metric("hyper_derp_ktls_install_errors_total") == 0,
          f"both versions ran in kernel TLS: handshakes 1.2={handshakes12} 1.3={handshakes13}, the alert of each "
          f"version read through kernel RX ({alerts}), close_notify via kernel {notify}, only ChaCha20 in userspace",
          scrape[-3000:])

    # --- remove stops it; purge leaves nothing of ours (the operator's own drop-in and group go first)
    vm.run("rm -rf /etc/systemd/system/hyper-derp.service.d && groupdel ssl-cert && systemctl daemon-reload")
    rc, out = vm.run("DEBIAN_FRONTEND=noninteractive apt-get remove -y hyper-derp 2>&1; "
                     "systemctl is-active hyper-derp; pgrep -x hyper-derp; test ! -e /usr/bin/hyper-derp && "
                     f"test -e {CONFIG} && echo conffile-kept")
    check(re.search(r"^(inactive|failed|unknown)$", out, re.M) and "conffile-kept" in out and not re.search(r"^\d+$", out, re.M),
          "apt remove stops the service and removes the binaries, keeping the conffile", out)
    rc, purge = vm.run("dpkg --purge hyper-derp 2>&1")
    _, status = vm.run("dpkg-query -W -f='${Status}' hyper-derp 2>&1")
    _, new_paths = vm.run(f"{snapshot} > /var/tmp/hd-after.txt; comm -13 /var/tmp/hd-before.txt /var/tmp/hd-after.txt")
    _, leftovers = vm.run("grep -E 'hyper-derp|hdctl' /var/tmp/hd-after.txt")
    check(rc == 0 and "install ok" not in status and leftovers.strip() == "",
          "dpkg --purge leaves no file of ours (/etc/hyper-derp, /var/lib/hyper-derp, unit state all gone)",
          purge + status + "\nleft: " + leftovers + "\nnew since the snapshot:\n" + new_paths)
    print("systemd-vm: paths new since before the install (package manager state):", flush=True)
    for path in new_paths.splitlines():
        print("  " + path)

    vm.run("systemd-run --no-block systemctl poweroff")
    check(vm.wait_exit(120) is not None, "the guest powers off")
except AgentError as error:
    if checks == 0:  # the VM never came up: the caller retries once (exit 125)
        print(f"systemd-vm: the VM did not boot: {error}\n{vm.console_tail()}", flush=True)
        vm.kill()
        sys.exit(125)
    check(False, f"VM: {error}", vm.console_tail())
finally:
    vm.kill()
print(f"systemd-vm: {time.monotonic() - started:.0f} s in the VM", flush=True)
sys.exit(1 if failures else 0)
