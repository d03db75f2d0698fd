// The CPU layout from sysfs: which logical CPUs are online, which of them are
// SMT siblings of one physical core, and where cores sit (package, die, NUMA
// node). Physical cores are keyed by (package, die, sibling list) because
// core_id alone repeats across packages.
import HDConfig

/// One physical core: its online logical CPUs (SMT siblings), lowest first.
public struct PhysicalCore: Sendable, Equatable {
  public var cpus: [Int]
  public var packageID: Int
  public var dieID: Int
  /// NUMA node of the core's first CPU; 0 when the host has no node directory.
  public var numaNode: Int

  /// The CPU we pin to: the lowest-numbered thread of the core.
  public var firstCPU: Int { cpus[0] }
}

public struct CPUTopology: Sendable, Equatable {
  public var online: [Int]
  /// CPUs taken out of the scheduler by `isolcpus=` (meant for pinned work).
  public var isolated: [Int]
  public var nohzFull: [Int]
  public var cores: [PhysicalCore]
  /// NUMA node id → its online CPUs.
  public var numaNodes: [Int: [Int]]

  public var packageCount: Int { Set(cores.map(\.packageID)).count }
  public var hasSMT: Bool { cores.contains { $0.cpus.count > 1 } }

  public func core(containing cpu: Int) -> PhysicalCore? {
    cores.first { $0.cpus.contains(cpu) }
  }

  /// Reads /sys/devices/system/cpu and /sys/devices/system/node under `root`.
  public static func read(root: FileSystemRoot) -> CPUTopology {
    let base = "/sys/devices/system/cpu"
    let online = root.readValue(base + "/online").flatMap { CPUList.parse($0) }
      ?? root.list(base).compactMap { name in
        name.hasPrefix("cpu") ? Int(name.dropFirst(3)) : nil
      }.sorted()
    let isolated = root.readValue(base + "/isolated").flatMap { CPUList.parse($0) } ?? []
    let nohzFull = root.readValue(base + "/nohz_full").flatMap { CPUList.parse($0) } ?? []

    var numaNodes: [Int: [Int]] = [:]
    for name in root.list("/sys/devices/system/node") where name.hasPrefix("node") {
      guard let id = Int(name.dropFirst(4)),
        let cpus = root.readValue("/sys/devices/system/node/\(name)/cpulist").flatMap({ CPUList.parse($0) })
      else { continue }
      numaNodes[id] = cpus.filter { online.contains($0) }
    }
    func node(of cpu: Int) -> Int {
      numaNodes.first(where: { $0.value.contains(cpu) })?.key ?? 0
    }

    struct CoreKey: Hashable {
      var package: Int
      var die: Int
      var siblings: [Int]
    }
    var coresByKey: [CoreKey: PhysicalCore] = [:]
    for cpu in online {
      let topology = "\(base)/cpu\(cpu)/topology"
      // core_cpus_list is the current name; thread_siblings_list the pre-5.3 one.
      let siblingsText = root.readValue(topology + "/core_cpus_list") ?? root.readValue(topology + "/thread_siblings_list")
      let siblings = (siblingsText.flatMap { CPUList.parse($0) } ?? [cpu]).filter { online.contains($0) }
      let key = CoreKey(
        package: root.readInt(topology + "/physical_package_id") ?? 0,
        die: root.readInt(topology + "/die_id") ?? 0,
        siblings: siblings.isEmpty ? [cpu] : siblings)
      if coresByKey[key] == nil {
        coresByKey[key] = PhysicalCore(cpus: key.siblings, packageID: key.package, dieID: key.die, numaNode: node(of: key.siblings[0]))
      }
    }
    let cores = coresByKey.values.sorted { $0.firstCPU < $1.firstCPU }
    if numaNodes.isEmpty { numaNodes[0] = online }
    return CPUTopology(online: online, isolated: isolated, nohzFull: nohzFull, cores: cores, numaNodes: numaNodes)
  }
}
