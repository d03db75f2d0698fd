// Which CPUs hyper-derp may actually use here: online CPUs, narrowed by the
// affinity mask and the cgroup cpuset, and throttled by a cgroup CPU quota.
// workers: 0 and `hdctl recommend` must respect all three, not just count
// online CPUs (the C++ server's sysconf mistake).
import HDConfig

public struct CPUAllowance: Sendable, Equatable {
  public var topology: CPUTopology
  /// sched_getaffinity of this process; nil when unknown.
  public var affinity: [Int]?
  public var cgroup: CgroupCPULimits

  /// online ∩ affinity ∩ cpuset.
  public var allowed: [Int] {
    topology.online.filter { cpu in
      (affinity?.contains(cpu) ?? true) && (cgroup.cpuset?.contains(cpu) ?? true)
    }
  }

  /// `allowed` plus isolated CPUs inside the cpuset: isolcpus= CPUs are left out
  /// of the default affinity mask, yet a worker can pin itself onto them, and
  /// that is what they are for.
  public var pinnable: [Int] {
    let isolatedInCpuset = topology.isolated.filter { cpu in
      topology.online.contains(cpu) && (cgroup.cpuset?.contains(cpu) ?? true)
    }
    return Set(allowed).union(isolatedInCpuset).sorted()
  }

  public static func read(root: FileSystemRoot, probes: any HostProbes) -> CPUAllowance {
    CPUAllowance(topology: CPUTopology.read(root: root), affinity: probes.affinityCPUs(), cgroup: CgroupCPULimits.read(files: root))
  }

  /// One line describing where the allowed set comes from.
  public var summary: String {
    var sources = ["affinity \(affinity.map { CPUList.format($0) } ?? "unknown")"]
    if let cpuset = cgroup.cpuset {
      sources.append("cgroup cpuset \(CPUList.format(cpuset)) (\(cgroup.cpusetSource ?? "?"))")
    } else {
      sources.append("no cgroup cpuset")
    }
    if let quota = cgroup.quotaCPUs {
      sources.append("cgroup quota \(formatCPUs(quota)) CPUs (\(cgroup.quotaSource ?? "?"))")
    } else {
      sources.append("no CPU quota")
    }
    return "\(CPUList.format(allowed)) allowed: " + sources.joined(separator: "; ")
  }
}

/// 2.5 → "2.5", 2.0 → "2".
func formatCPUs(_ value: Double) -> String {
  let tenths = Int((value * 10).rounded())
  return tenths % 10 == 0 ? "\(tenths / 10)" : "\(tenths / 10).\(tenths % 10)"
}
