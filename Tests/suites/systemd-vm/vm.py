"""The QEMU side of the systemd VM test: boots the bookworm image under TCG
with the payload as a second disk, forwards host 127.0.0.1 ports to the
guest, and runs shell snippets through the guest agent on the second serial
port (agent.sh)."""

import base64
import os
import socket
import subprocess
import time


class AgentError(Exception):
    pass


class VM:
    def __init__(self, image_dir, payload_tar, work, forwards, memory_mb=1024, cpus=2):
        self.image_dir = image_dir
        self.payload_tar = payload_tar
        self.work = work
        self.forwards = forwards  # [(host_port, guest_port)]
        self.memory_mb = memory_mb
        self.cpus = cpus
        self.process = None
        self.sock = None
        self.buffer = b""
        self.next_id = 0
        self.console = os.path.join(work, "console.log")

    def start(self):
        agent_socket = os.path.join(self.work, "agent.sock")
        hostfwd = ",".join(f"hostfwd=tcp:127.0.0.1:{h}-:{g}" for h, g in self.forwards)
        # restrict=on: the guest reaches nothing outside; only the forwards come in.
        command = [
            "qemu-system-x86_64", "-accel", "tcg,thread=multi", "-cpu", "max",
            "-m", str(self.memory_mb), "-smp", str(self.cpus),
            "-nodefaults", "-no-user-config", "-display", "none",
            "-kernel", os.path.join(self.image_dir, "vmlinux"),
            "-initrd", os.path.join(self.image_dir, "initrd.cpio"),
            "-append", "console=ttyS0 quiet panic=-1 cryptomgr.notests=1 mitigations=off tsc=reliable "
                       "no_timer_check systemd.show_status=0",
            # -snapshot: the cached image stays pristine; writes live as long as this QEMU (reboots included).
            "-snapshot",
            "-drive", f"file={os.path.join(self.image_dir, 'rootfs.img')},format=raw,if=virtio",
            "-drive", f"file={self.payload_tar},format=raw,if=virtio,readonly=on",
            "-nic", f"user,model=virtio-net-pci,restrict=on,{hostfwd}",
            "-serial", f"file:{self.console}",
            "-serial", f"unix:{agent_socket},server=on,wait=off",
        ]
        self.process = subprocess.Popen(command, stdout=open(os.path.join(self.work, "qemu.log"), "w"),
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(agent_socket)
                break
            except OSError:
                self.sock.close()
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise AgentError("QEMU did not open the agent socket: " + self.qemu_log())
                time.sleep(0.1)

    def qemu_log(self):
        try:
            return open(os.path.join(self.work, "qemu.log")).read()[-2000:]
        except OSError:
            return ""

    def console_tail(self, lines=40):
        try:
            text = open(self.console, errors="replace").read().replace("\r", "")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _line(self, deadline):
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AgentError("timed out waiting for the guest agent")
            if self.process.poll() is not None:
                raise AgentError(f"QEMU exited ({self.process.returncode})")
            self.sock.settimeout(min(remaining, 1.0))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise AgentError("agent socket closed")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.replace(b"\r", b"").decode(errors="replace")

    def wait_ready(self, timeout):
        """Waits for the agent's READY line (systemd finished booting); returns the system state."""
        deadline = time.monotonic() + timeout
        while True:
            line = self._line(deadline)
            if line.startswith("@@READY"):
                return line.split(" ", 1)[1] if " " in line else ""

    def run(self, script, timeout=120):
        """Runs a bash snippet in the guest as root; returns (exit code, output)."""
        self.next_id += 1
        ident = str(self.next_id)
        encoded = base64.b64encode(script.encode()).decode()
        self.sock.sendall(f"@@CMD {ident} {encoded}\n".encode())
        deadline = time.monotonic() + timeout
        while True:
            line = self._line(deadline)
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[0] == "@@RES" and parts[1] == ident:
                output = base64.b64decode(parts[3]).decode(errors="replace") if len(parts) == 4 else ""
                return int(parts[2]), output

    def wait_exit(self, timeout):
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.sock:
            self.sock.close()
