// Which CPUs this process may really use: online CPUs, narrowed by the
// scheduler affinity mask and the cgroup cpuset, and capped by the cgroup CPU
// quota. `_SC_NPROCESSORS_ONLN` alone (the C++ server) oversubscribes
// containers and `taskset` launches.
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import CSys
import HDConfig

public struct CPUAvailability: Sendable, Equatable {
  /// CPUs the kernel has online (/sys/devices/system/cpu/online).
  public var online: [Int]
  /// The process's scheduler affinity mask (sched_getaffinity).
  public var affinity: [Int]
  public var cgroup: CgroupCPULimits

  public init(online: [Int], affinity: [Int], cgroup: CgroupCPULimits = CgroupCPULimits()) {
    self.online = online
    self.affinity = affinity
    self.cgroup = cgroup
  }

  /// CPUs a worker may run on: online ∩ affinity ∩ cpuset.
  public var allowed: [Int] {
    var set = Set(online).intersection(affinity)
    if let cpuset = cgroup.cpuset { set.formIntersection(cpuset) }
    return set.sorted()
  }

  /// How many CPUs' worth of work the process can get: allowed CPUs, capped by
  /// the quota rounded up (a 1.5-CPU quota still benefits from 2 threads), at least 1.
  public var usableCount: Int {
    var count = allowed.count
    if let quota = cgroup.quotaCPUs {
      count = min(count, Int(quota.rounded(.up)))
    }
    return max(1, count)
  }

  /// Reads the facts of the running process. `root` prefixes /proc and /sys
  /// paths (fixture trees in tests); the affinity always comes from the kernel.
  public static func probe(root: String = "") -> CPUAvailability {
    let onlineText = HostFile.readText(root + "/sys/devices/system/cpu/online") ?? ""
    let affinity = ThreadAffinity.cpus(ofThread: getpid()) ?? []
    // Without sysfs (odd containers), trust the affinity mask for "online".
    let online = CPUList.parse(onlineText).flatMap { $0.isEmpty ? nil : $0 } ?? affinity
    return CPUAvailability(online: online, affinity: affinity, cgroup: CgroupCPULimits.read(root: root))
  }

  /// One line for the startup log, e.g. "online 0-3, affinity 0-1, cpuset 0-1, quota 1.5".
  public var summary: String {
    var parts = ["online \(CPUList.format(online))", "affinity \(CPUList.format(affinity))"]
    if let cpuset = cgroup.cpuset { parts.append("cgroup cpuset \(CPUList.format(cpuset))") }
    if let quota = cgroup.quotaCPUs { parts.append("cgroup quota \(quota) CPUs") }
    return parts.joined(separator: ", ")
  }
}
