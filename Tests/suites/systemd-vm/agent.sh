#!/bin/bash
# The guest side of the systemd VM test: runs shell snippets the host sends
# over the second serial port and answers with their exit code and output.
#   host -> guest:  @@CMD <id> <base64 script>
#   guest -> host:  @@READY <system state>   (once systemd finished booting)
#                   @@RES <id> <exit code> <base64 output>
set -u
exec < /dev/ttyS1 > /dev/ttyS1 2>&1
stty raw -echo 2>/dev/null
# The NIC only carries QEMU's host port forward (no route out): 10.0.2.15,
# the address user-mode networking forwards to.
for _ in $(seq 100); do [ -e /sys/class/net/eth0 ] && break; sleep 0.1; done
ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0
state=$(systemctl is-system-running --wait 2>/dev/null)
echo "@@READY ${state:-unknown}"
while IFS=' ' read -r tag id script; do
  [ "$tag" = "@@CMD" ] || continue
  printf '%s' "$script" | base64 -d > /run/hd-agent-cmd.sh
  bash /run/hd-agent-cmd.sh > /run/hd-agent-out.txt 2>&1 < /dev/null
  rc=$?
  echo "@@RES $id $rc $(base64 -w0 < /run/hd-agent-out.txt)"
done
