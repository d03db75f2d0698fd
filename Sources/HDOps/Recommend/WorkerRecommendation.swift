// How many workers to run and where to pin them. The rules, each printed as a
// reason when it applies:
// - one worker per physical core: SMT siblings share the core's execution
//   units (with kernel TLS the AES-GCM work runs in the worker's own calls);
// - stay on one NUMA node (the NIC's when known, else the one with the most
//   usable cores), since workers forward to each other all the time;
// - isolcpus= cores are the operator's statement of where pinned work goes;
// - otherwise, from 4 physical cores up, keep the node's first physical core
//   (all its threads) for IRQs, the accept thread, metrics and the OS;
// - never more workers than the cgroup CPU quota can run at once.
import HDConfig

public struct WorkerRecommendation: Sendable, Equatable {
  public var workers: Int
  public var pinCores: [Int]
  public var numaNode: Int
  /// CPUs left for housekeeping by choice (empty when none was reserved).
  public var housekeepingCPUs: [Int]
  public var reasons: [String]

  /// Physical cores on a node from which one is kept for housekeeping.
  public static let housekeepingFromCores = 4
  /// The config schema's upper bound on `workers`.
  public static let workersMax = 64

  public struct NoUsableCPU: Error, CustomStringConvertible {
    public var description: String
  }

  public static func make(allowance: CPUAllowance, nicNodes: [String: Int], config: Config) throws(NoUsableCPU)
    -> WorkerRecommendation
  {
    let topology = allowance.topology
    let pinnable = allowance.pinnable
    var reasons: [String] = []
    reasons.append(
      "\(topology.online.count) CPUs online (\(CPUList.format(topology.online))); \(allowance.summary).")

    // Usable part of every physical core, in CPU order.
    let usableCores: [PhysicalCore] = topology.cores.compactMap { core in
      let cpus = core.cpus.filter { pinnable.contains($0) }
      guard !cpus.isEmpty else { return nil }
      var usable = core
      usable.cpus = cpus
      return usable
    }
    guard !usableCores.isEmpty else {
      throw NoUsableCPU(description: "no online CPU is usable by this process (\(allowance.summary))")
    }
    let nodes = Set(usableCores.map(\.numaNode)).sorted()
    let smtText = topology.hasSMT
      ? "SMT on: \(topology.cores.filter { $0.cpus.count > 1 }.count) cores have siblings (e.g. \(siblingExample(topology)))"
      : "no SMT siblings"
    reasons.append(
      "\(usableCores.count) usable physical cores on \(topology.packageCount) package(s), \(nodes.count) NUMA node(s); \(smtText).")

    // NUMA node: the NIC's, if it has usable cores; else the roomiest.
    let coresPerNode = Dictionary(grouping: usableCores, by: \.numaNode)
    let nicOnUsableNode = nicNodes.sorted { $0.key < $1.key }.first { coresPerNode[$0.value] != nil }
    let node: Int
    if let nic = nicOnUsableNode {
      node = nic.value
      if nodes.count > 1 {
        reasons.append("NUMA node \(node) holds the NIC \(nic.key): workers stay there, the other node's cores are left alone.")
      }
    } else {
      node = nodes.max { (coresPerNode[$0]!.count, -$0) < (coresPerNode[$1]!.count, -$1) }!
      if nodes.count > 1 {
        reasons.append("NUMA node \(node) has the most usable cores (\(coresPerNode[node]!.count)): workers stay on one node because they forward to each other constantly.")
      }
    }
    var candidates = coresPerNode[node]!

    // Where the housekeeping goes.
    var housekeeping: [Int] = []
    let isolatedCores = candidates.filter { topology.isolated.contains($0.firstCPU) }
    if !isolatedCores.isEmpty {
      candidates = isolatedCores
      reasons.append(
        "isolcpus= \(CPUList.format(topology.isolated)) is set: workers go on the isolated cores, the rest of the system keeps the others.")
    } else if candidates.count >= housekeepingFromCores {
      let reserved = candidates.removeFirst()
      housekeeping = reserved.cpus
      let cpus = (reserved.cpus.count > 1 ? "CPUs " : "CPU ") + reserved.cpus.map(String.init).joined(separator: ",")
      reasons.append(
        "\(candidates.count + 1) physical cores on node \(node): \(cpus) (one physical core) kept for IRQs, "
          + "the accept thread, metrics and the OS (done from \(housekeepingFromCores) cores up).")
    } else {
      reasons.append(
        "\(candidates.count) physical cores on node \(node): too few to keep one for housekeeping (done from \(housekeepingFromCores) cores up), so every core runs a worker.")
    }

    var count = candidates.count
    if let quota = allowance.cgroup.quotaCPUs, Int(quota) < count {
      count = max(1, Int(quota))
      reasons.append(
        "the cgroup quota allows \(formatCPUs(quota)) CPUs of run time: \(count) worker(s), since more would only be throttled.")
    }
    if count > workersMax {
      count = workersMax
      reasons.append("capped at \(workersMax) workers, the most the relay runs.")
    }
    let chosen = Array(candidates.prefix(count))
    if topology.hasSMT {
      reasons.append("one CPU per physical core, SMT siblings skipped: a sibling shares the core's execution units and adds little to a relay.")
    }
    reasons.append(tlsReason(config))
    if !housekeeping.isEmpty {
      // irqbalance would otherwise spread NIC interrupts onto the worker cores.
      let workerThreads = chosen.flatMap(\.cpus)
      reasons.append(
        "keep IRQs on the housekeeping core: IRQBALANCE_BANNED_CPULIST=\(CPUList.format(workerThreads)) in /etc/default/irqbalance.")
    }

    if config.workers > 0 || !config.pinCores.isEmpty {
      let current = "workers: \(config.workers), pin_cores: [\(config.pinCores.map(String.init).joined(separator: ", "))]"
      let same = config.pinCores == chosen.map(\.firstCPU) && (config.workers == 0 || config.workers == count)
      reasons.append(same ? "the config already has this (\(current))." : "the config has \(current) now.")
    }

    return WorkerRecommendation(
      workers: count, pinCores: chosen.map(\.firstCPU), numaNode: node, housekeepingCPUs: housekeeping, reasons: reasons)
  }

  private static func tlsReason(_ config: Config) -> String {
    guard config.tlsEnabled else {
      return "no TLS configured: plain TCP relaying is bound by syscalls and memory bandwidth, so one worker per physical core is the useful maximum."
    }
    switch config.ktls {
    case .off:
      return "TLS with ktls: off: every byte is decrypted and re-encrypted in userspace on the worker's core, so workers scale with physical cores."
    case .auto, .required:
      return "TLS with kernel TLS (ktls: \(config.ktls.rawValue)): the kernel encrypts and decrypts inside each worker's send and receive calls; AES-GCM is bound by the vector units SMT siblings share, so one worker per physical core."
    }
  }

  private static func siblingExample(_ topology: CPUTopology) -> String {
    guard let core = topology.cores.first(where: { $0.cpus.count > 1 }) else { return "" }
    return core.cpus.map(String.init).joined(separator: "+")
  }

  /// NUMA node of each physical NIC (/sys/class/net/IF/device/numa_node ≥ 0);
  /// virtual interfaces have no device link and are skipped.
  public static func nicNumaNodes(root: FileSystemRoot) -> [String: Int] {
    var nodes: [String: Int] = [:]
    for name in root.list("/sys/class/net") {
      if let node = root.readInt("/sys/class/net/\(name)/device/numa_node"), node >= 0 { nodes[name] = node }
    }
    return nodes
  }
}
