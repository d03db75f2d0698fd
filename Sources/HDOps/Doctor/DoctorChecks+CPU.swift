// CPU checks: topology, what this process may use, worker count and pinning.
import HDConfig

extension DoctorChecks {
  static func cpuTopology(_ context: DoctorContext) -> CheckOutcome {
    let topology = context.allowance.topology
    guard !topology.online.isEmpty, !topology.cores.isEmpty else {
      return .error(
        "cannot read the online CPUs from /sys/devices/system/cpu",
        fix: "mount sysfs at /sys (the relay reads it for workers: 0 too)")
    }
    let threads = topology.hasSMT ? "SMT on (\(topology.cores.map(\.cpus.count).max()!) threads per core)" : "no SMT"
    var fact =
      "\(topology.online.count) CPUs online (\(CPUList.format(topology.online))): \(topology.cores.count) physical cores, "
      + "\(topology.packageCount) package(s), \(topology.numaNodes.count) NUMA node(s), \(threads)"
    if !topology.isolated.isEmpty { fact += ", isolcpus \(CPUList.format(topology.isolated))" }
    return .ok(fact)
  }

  static func cpuAllowed(_ context: DoctorContext) -> CheckOutcome {
    let allowance = context.allowance
    guard !allowance.pinnable.isEmpty else {
      return .error(
        "no online CPU is usable: \(allowance.summary)",
        fix: "give the relay's cgroup or affinity at least one online CPU (systemd: AllowedCPUs= / CPUAffinity=)")
    }
    return .ok(allowance.summary)
  }

  /// The worker count the relay would run with this config here.
  static func effectiveWorkers(_ context: DoctorContext) -> (count: Int, how: String) {
    let config = context.config
    if config.workers > 0 { return (config.workers, "workers: \(config.workers)") }
    if !config.pinCores.isEmpty { return (config.pinCores.count, "\(config.pinCores.count) pin_cores") }
    // Mirrors the daemon's own rule (HDRelay CPUAvailability): one per allowed
    // CPU, at most the quota rounded up, at least 1, at most 64.
    var count = context.allowance.allowed.count
    var how = "one per allowed CPU"
    if let quota = context.allowance.cgroup.quotaCPUs, Int(quota.rounded(.up)) < count {
      count = Int(quota.rounded(.up))
      how = "the \(formatCPUs(quota))-CPU quota rounded up"
    }
    count = min(max(1, count), WorkerRecommendation.workersMax)
    return (count, "workers: 0 → \(count) (\(how))")
  }

  static func recommendationFix(_ context: DoctorContext) -> String {
    guard
      let recommendation = try? WorkerRecommendation.make(
        allowance: context.allowance, nicNodes: WorkerRecommendation.nicNumaNodes(root: context.root),
        config: context.config)
    else { return "run hdctl recommend" }
    let cores = recommendation.pinCores.map(String.init).joined(separator: ", ")
    return "set workers: \(recommendation.workers) and pin_cores: [\(cores)] in \(context.configFileForFixes)   # hdctl recommend explains why"
  }

  static func workers(_ context: DoctorContext) -> CheckOutcome {
    let (count, how) = effectiveWorkers(context)
    let usable = context.allowance.pinnable.count
    if count > usable {
      return .warning(
        "\(how), but only \(usable) CPU(s) are usable here: workers would share CPUs",
        fix: recommendationFix(context))
    }
    if let quota = context.allowance.cgroup.quotaCPUs, count > max(1, Int(quota)) {
      return .warning(
        "\(how), but the cgroup quota allows \(formatCPUs(quota)) CPUs of run time: busy workers get throttled",
        fix: recommendationFix(context))
    }
    return .ok("\(how) on \(usable) usable CPU(s)")
  }

  static func pinCores(_ context: DoctorContext) -> CheckOutcome {
    let pins = context.config.pinCores
    guard !pins.isEmpty else {
      return .ok("pin_cores not set: workers are not pinned (hdctl recommend suggests cores)")
    }
    let topology = context.allowance.topology
    let list = CPUList.format(pins)
    let offline = pins.filter { !topology.online.contains($0) }
    if !offline.isEmpty {
      return .error(
        "pin_cores \(CPUList.format(offline)) not online here (online: \(CPUList.format(topology.online))); the relay refuses to start",
        fix: recommendationFix(context))
    }
    let unusable = pins.filter { !context.allowance.pinnable.contains($0) }
    if !unusable.isEmpty {
      return .error(
        "pin_cores \(CPUList.format(unusable)) are outside the CPUs this process may use (\(CPUList.format(context.allowance.pinnable)))",
        fix: recommendationFix(context))
    }
    var pairs: [String] = []
    for (index, cpu) in pins.enumerated() {
      guard let core = topology.core(containing: cpu) else { continue }
      for other in pins[(index + 1)...] where core.cpus.contains(other) { pairs.append("\(cpu)+\(other)") }
    }
    if !pairs.isEmpty {
      return .warning(
        "pin_cores \(pairs.joined(separator: ", ")) are SMT siblings of one physical core: those workers share it",
        fix: recommendationFix(context))
    }
    return .ok("pin_cores \(list): online, usable, one per physical core")
  }
}
