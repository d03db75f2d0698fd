#!/usr/bin/env python3
"""Writes the synthetic fixture hosts (everything except live-2vcpu, which
capture-host.sh copied from the CI machine). Run from this directory:
python3 make-synthetic.py. Each tree holds only the files hdctl reads."""
import json, os, shutil

HERE = os.path.dirname(os.path.abspath(__file__))


def cpulist(cpus):
    cpus = sorted(set(cpus))
    parts, i = [], 0
    while i < len(cpus):
        j = i
        while j + 1 < len(cpus) and cpus[j + 1] == cpus[j] + 1:
            j += 1
        parts.append(str(cpus[i]) if i == j else f"{cpus[i]}-{cpus[j]}")
        i = j + 1
    return ",".join(parts)


class Host:
    def __init__(self, name):
        self.root = os.path.join(HERE, name)
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(self.root)

    def write(self, path, text):
        full = self.root + path
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)

    def sysctls(self, values):
        for key, value in values.items():
            self.write("/proc/sys/" + key.replace(".", "/"), f"{value}\n")

    def cpus(self, online, siblings, package, node_of, die=None):
        """siblings(cpu) -> list; package(cpu) -> id; node_of(cpu) -> node."""
        base = "/sys/devices/system/cpu"
        self.write(base + "/online", cpulist(online) + "\n")
        self.write(base + "/possible", cpulist(online) + "\n")
        self.write(base + "/present", cpulist(online) + "\n")
        self.write(base + "/offline", "\n")
        self.write(base + "/isolated", "\n")
        for cpu in online:
            t = f"{base}/cpu{cpu}/topology"
            sib = cpulist(siblings(cpu))
            self.write(t + "/core_cpus_list", sib + "\n")
            self.write(t + "/thread_siblings_list", sib + "\n")
            self.write(t + "/physical_package_id", f"{package(cpu)}\n")
            self.write(t + "/die_id", f"{(die or package)(cpu)}\n")
            self.write(t + "/core_id", f"{min(siblings(cpu)) % 64}\n")
        nodes = {}
        for cpu in online:
            nodes.setdefault(node_of(cpu), []).append(cpu)
        for node, cpus in nodes.items():
            self.write(f"/sys/devices/system/node/node{node}/cpulist", cpulist(cpus) + "\n")

    def cgroup_v2(self, path, files):
        """files: {relative cgroup dir: {name: content}}; mounted at /sys/fs/cgroup."""
        self.write("/proc/self/cgroup", f"0::{path}\n")
        self.write("/proc/self/mountinfo",
                   "29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n")
        for directory, entries in files.items():
            for name, content in entries.items():
                self.write(f"/sys/fs/cgroup{directory.rstrip('/')}/{name}", content + "\n")

    def status(self, cap_eff="000001ffffffffff", seccomp=0, filters=0):
        self.write("/proc/self/status",
                   f"Name:\thdctl\nUmask:\t0022\nState:\tR (running)\nCapInh:\t0000000000000000\n"
                   f"CapPrm:\t{cap_eff}\nCapEff:\t{cap_eff}\nCapBnd:\t{cap_eff}\nCapAmb:\t0000000000000000\n"
                   f"NoNewPrivs:\t{1 if seccomp else 0}\nSeccomp:\t{seccomp}\nSeccomp_filters:\t{filters}\n")

    def probes(self, **values):
        self.write("/probes.json", json.dumps(values, indent=2, sort_keys=True) + "\n")

    def config(self, text):
        self.write("/etc/hyper-derp/hyper-derp.yaml", text)

    def cert(self):
        """A self-signed P-256 certificate valid until 2126 (golden output must not age).
        Config files name it relative to their own directory (/etc/hyper-derp)."""
        for name in ("tls.crt", "tls.key"):
            shutil.copy(os.path.join(HERE, "certs", name), self.root + "/etc/hyper-derp/" + name)


DEBIAN_SYSCTLS = {
    "net.core.rmem_max": 212992, "net.core.wmem_max": 212992, "net.core.somaxconn": 4096,
    "net.ipv4.tcp_max_syn_backlog": 1024, "net.core.netdev_max_backlog": 1000,
    "fs.file-max": 9223372036854775807, "fs.nr_open": 1048576,
    "net.ipv4.ip_unprivileged_port_start": 1024,
}

# 1. 16 vCPUs, Intel numbering: cpu N and N+8 are one core. Debian 12 kernel,
# tls module shipped but not loaded. The seed's production config.
h = Host("intel-16vcpu-smt")
h.write("/proc/sys/kernel/osrelease", "6.1.0-26-amd64\n")
h.sysctls(DEBIAN_SYSCTLS)
h.write("/proc/sys/net/ipv4/tcp_available_ulp", "\n")
h.write("/lib/modules/6.1.0-26-amd64/modules.dep", "kernel/net/tls/tls.ko:\n")
h.cpus(range(16), lambda c: [c % 8, c % 8 + 8], lambda c: 0, lambda c: 0)
h.cgroup_v2("/system.slice/hyper-derp.service", {
    "/": {"cpuset.cpus.effective": "0-15"},
    "/system.slice": {"cpu.max": "max 100000"},
})
h.status()
h.write("/sys/class/net/eno1/device/numa_node", "-1\n")
h.config("port: 443\nworkers: 8\npin_cores: [0, 1, 2, 3, 4, 5, 6, 7]\nsockbuf: 2097152\n"
         "tls_cert: tls.crt\ntls_key: tls.key\nlog_level: info\nmetrics:\n  port: 9090\n")
h.cert()
h.probes(io_uring_setup="ok", io_uring_sqpoll="ok", tcp_ulp_tls="ENOENT", affinity="0-15", euid=0,
         nofile={"soft": 1024, "hard": 524288}, memlock={"soft": 8388608, "hard": 8388608},
         health={"status": 200, "body": "{\"status\":\"ok\",\"uptime_seconds\":5120,\"workers\":8,\"peers_active\":412}"})

# 2. Two AMD sockets, SMT siblings adjacent (2k, 2k+1), one NUMA node per
# socket, the NIC on node 1. Ubuntu kernel, the high-throughput config.
h = Host("amd-2socket-smt")
h.write("/proc/sys/kernel/osrelease", "6.8.0-45-generic\n")
h.sysctls(dict(DEBIAN_SYSCTLS, **{"kernel.io_uring_disabled": 0, "kernel.io_uring_group": -1,
                                   "net.core.rmem_max": 16777216, "net.core.wmem_max": 212992}))
h.write("/proc/sys/net/ipv4/tcp_available_ulp", "mptcp\n")
h.write("/lib/modules/6.8.0-45-generic/modules.dep", "kernel/net/tls/tls.ko.zst:\n")
h.cpus(range(32), lambda c: [c - c % 2, c - c % 2 + 1], lambda c: c // 16, lambda c: c // 16)
h.cgroup_v2("/system.slice/hyper-derp.service", {"/": {"cpuset.cpus.effective": "0-31"}})
h.status()
h.write("/sys/class/net/enp65s0f0/device/numa_node", "1\n")
h.config("port: 443\nworkers: 10\npin_cores: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\nsockbuf: 4194304\nsqpoll: true\n"
         "log_level: warn\nmetrics:\n  port: 9090\n")
h.probes(io_uring_setup="ok", io_uring_sqpoll="ok", tcp_ulp_tls="ENOENT", affinity="0-31", euid=0,
         nofile={"soft": 1048576, "hard": 1048576}, memlock={"soft": None, "hard": None},
         health={"error": "ECONNREFUSED"})

# 3. A container: 8 host CPUs, cgroup namespace with cpuset 2-5 and a quota of
# 1.5 CPUs, docker's default seccomp profile (io_uring blocked), not root.
h = Host("container-cgroup-limited")
h.write("/proc/sys/kernel/osrelease", "6.6.52-container\n")
h.sysctls(dict(DEBIAN_SYSCTLS, **{"kernel.io_uring_disabled": 0}))
h.write("/proc/sys/net/ipv4/tcp_available_ulp", "\n")
h.cpus(range(8), lambda c: [c], lambda c: 0, lambda c: 0)
h.cgroup_v2("/", {"/": {"cpuset.cpus.effective": "2-5", "cpu.max": "150000 100000"}})
h.status(cap_eff="0000000000000000", seccomp=2, filters=1)
h.config("port: 443\nlog_level: info\n")
h.probes(io_uring_setup="EPERM", io_uring_sqpoll="EPERM", tcp_ulp_tls="ENOENT", affinity="2-5", euid=1000,
         bind_loopback="EACCES",
         nofile={"soft": 1048576, "hard": 1048576}, memlock={"soft": 65536, "hard": 65536})

# 4. kTLS in use: module loaded and persisted, counters running, some records
# failed to decrypt. Host already tuned.
h = Host("ktls-loaded")
h.write("/proc/sys/kernel/osrelease", "6.1.0-26-amd64\n")
h.sysctls(dict(DEBIAN_SYSCTLS, **{"net.core.rmem_max": 16777216, "net.core.wmem_max": 16777216,
                                   "net.core.somaxconn": 8192, "net.ipv4.tcp_max_syn_backlog": 8192,
                                   "net.core.netdev_max_backlog": 8192}))
h.write("/proc/sys/net/ipv4/tcp_available_ulp", "espintcp mptcp tls\n")
h.write("/sys/module/tls/refcnt", "12\n")
h.write("/lib/modules/6.1.0-26-amd64/modules.dep", "kernel/net/tls/tls.ko:\n")
h.write("/etc/modules-load.d/hyper-derp.conf", "# Kernel TLS for hyper-derp, written by `hdctl tune --persist`.\ntls\n")
stats = [("TlsCurrTxSw", 12), ("TlsCurrRxSw", 12), ("TlsCurrTxDevice", 0), ("TlsCurrRxDevice", 0),
         ("TlsTxSw", 4181), ("TlsRxSw", 4170), ("TlsTxDevice", 0), ("TlsRxDevice", 0),
         ("TlsDecryptError", 3), ("TlsRxDeviceResync", 0), ("TlsDecryptRetry", 0), ("TlsRxNoPadViolation", 0)]
h.write("/proc/net/tls_stat", "".join(f"{name:<32}{value}\n" for name, value in stats))
h.cpus(range(4), lambda c: [c], lambda c: 0, lambda c: 0)
h.cgroup_v2("/system.slice/hyper-derp.service", {"/": {"cpuset.cpus.effective": "0-3"}})
h.status()
h.config("port: 443\nworkers: 3\npin_cores: [1, 2, 3]\nsockbuf: 4194304\ntls_cert: tls.crt\n"
         "tls_key: tls.key\nktls: required\nmetrics:\n  port: 9090\n  bind: [127.0.0.1]\n")
h.cert()
h.probes(io_uring_setup="ok", io_uring_sqpoll="ok", tcp_ulp_tls="ok", affinity="0-3", euid=0,
         nofile={"soft": 1048576, "hard": 1048576}, memlock={"soft": 8388608, "hard": 8388608},
         health={"status": 200, "body": "{\"status\":\"ok\",\"uptime_seconds\":86400,\"workers\":3,\"peers_active\":1290}"})

# 5. io_uring switched off by sysctl (hardened kernel): 2 cores x 2 threads.
h = Host("iouring-disabled")
h.write("/proc/sys/kernel/osrelease", "6.6.30-hardened1\n")
h.sysctls(dict(DEBIAN_SYSCTLS, **{"kernel.io_uring_disabled": 2, "kernel.io_uring_group": -1}))
h.write("/proc/sys/net/ipv4/tcp_available_ulp", "\n")
h.write("/lib/modules/6.6.30-hardened1/modules.dep", "kernel/net/tls/tls.ko.xz:\n")
h.cpus(range(4), lambda c: [c % 2, c % 2 + 2], lambda c: 0, lambda c: 0)
h.cgroup_v2("/user.slice/user-0.slice/session-3.scope", {"/": {"cpuset.cpus.effective": "0-3"}})
h.status()
h.config("port: 3340\nworkers: 2\npin_cores: [0, 2]\nktls: off\n")
h.probes(io_uring_setup="EPERM", io_uring_sqpoll="EPERM", tcp_ulp_tls="ENOENT", affinity="0-3", euid=0,
         nofile={"soft": 1024, "hard": 524288}, memlock={"soft": 8388608, "hard": 8388608})
print("fixtures written")
