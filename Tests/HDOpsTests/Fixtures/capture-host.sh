#!/usr/bin/env bash
# Copies the files hdctl doctor/recommend/tune read from this host into a
# fixture tree: bash capture-host.sh DIR. probes.json (answers of live system
# calls) is written by hand or with `hdctl doctor --json` facts; see README.md.
set -euo pipefail
out=${1:?usage: capture-host.sh DIR}
mkdir -p "$out"

copy() {  # copy a file if it exists, keeping its host path under $out
  local path=$1
  [ -f "$path" ] || return 0
  mkdir -p "$out$(dirname "$path")"
  cat "$path" > "$out$path" 2>/dev/null || rm -f "$out$path"
}

for key in kernel/osrelease kernel/io_uring_disabled kernel/io_uring_group \
  net/ipv4/tcp_available_ulp net/ipv4/ip_unprivileged_port_start net/ipv4/tcp_max_syn_backlog \
  net/core/rmem_max net/core/wmem_max net/core/somaxconn net/core/netdev_max_backlog \
  fs/file-max fs/nr_open; do
  copy "/proc/sys/$key"
done
copy /proc/self/status
copy /proc/self/cgroup
mkdir -p "$out/proc/self"
grep -E ' - cgroup2? ' /proc/self/mountinfo > "$out/proc/self/mountinfo" || true
copy /proc/net/tls_stat

cpu=/sys/devices/system/cpu
for f in online possible present isolated offline nohz_full; do copy "$cpu/$f"; done
for dir in "$cpu"/cpu[0-9]*; do
  for f in core_cpus_list thread_siblings_list physical_package_id die_id core_id; do
    copy "$dir/topology/$f"
  done
done
for dir in /sys/devices/system/node/node[0-9]*; do copy "$dir/cpulist"; done
for dir in /sys/class/net/*; do copy "$dir/device/numa_node"; done
[ -d /sys/module/tls ] && mkdir -p "$out/sys/module/tls" && copy /sys/module/tls/refcnt

# cgroup files along this process's cgroup paths (v2 and v1 cpuset/cpu).
while IFS=: read -r id controllers path; do
  case "$controllers" in
    "") base=$(awk '/ - cgroup2 /{print $5; exit}' /proc/self/mountinfo) ;;
    *cpuset*) base=/sys/fs/cgroup/cpuset ;;
    cpu|cpu,*|*,cpu|*,cpu,*) base=/sys/fs/cgroup/$controllers ;;
    *) continue ;;
  esac
  [ -n "${base:-}" ] || continue
  dir="$base${path%/}"
  while :; do
    for f in cpuset.cpus.effective cpu.max cpuset.effective_cpus cpuset.cpus cpu.cfs_quota_us cpu.cfs_period_us; do
      copy "$dir/$f"
    done
    case "$dir" in "$base"|/|"") break ;; esac
    dir=$(dirname "$dir")
  done
done < /proc/self/cgroup

for f in /etc/modules-load.d/*.conf /etc/modules; do copy "$f"; done
release=$(uname -r)
for f in modules.dep modules.builtin; do
  if [ -f "/lib/modules/$release/$f" ]; then
    mkdir -p "$out/lib/modules/$release"
    grep '^kernel/net/tls/' "/lib/modules/$release/$f" > "$out/lib/modules/$release/$f" || true
  fi
done
echo "captured into $out; now write $out/probes.json"
