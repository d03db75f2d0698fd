// Process limits and port privileges.
import HDConfig
@preconcurrency import Glibc

extension DoctorChecks {
  /// Below this many descriptors a relay runs out of sockets early.
  static let openFilesMin: UInt64 = 65536

  static func describe(_ limit: UInt64?) -> String { limit.map(String.init) ?? "unlimited" }

  static func describeBytes(_ limit: UInt64?) -> String {
    guard let limit else { return "unlimited" }
    if limit >= 1 << 20 && limit % (1 << 20) == 0 { return "\(limit >> 20) MiB" }
    if limit >= 1 << 10 && limit % (1 << 10) == 0 { return "\(limit >> 10) KiB" }
    return "\(limit) B"
  }

  static func nofile(_ context: DoctorContext) -> CheckOutcome {
    let limit = context.probes.openFilesLimit()
    let fact = "open files: soft \(describe(limit.soft)), hard \(describe(limit.hard)) (this process; the relay raises soft to hard)"
    if let hard = limit.hard, hard < openFilesMin {
      return .warning(
        "\(fact): about \(hard) peers at most",
        fix: "LimitNOFILE=\(SysctlPlan.fileDescriptorsMin) in the unit (etc/hyper-derp.service); "
          + "by hand: ulimit -n \(SysctlPlan.fileDescriptorsMin) as root before starting it")
    }
    return .ok(fact)
  }

  static func memlock(_ context: DoctorContext) -> CheckOutcome {
    let limit = context.probes.lockedMemoryLimit()
    let fact = "locked memory: soft \(describeBytes(limit.soft)), hard \(describeBytes(limit.hard))"
    if context.kernelAtLeast(5, 12) {
      return .ok("\(fact); the kernel charges io_uring rings to the memory cgroup instead")
    }
    if let soft = limit.soft, soft < 64 << 20 {
      return .warning(
        "\(fact): kernels before 5.12 charge io_uring rings to RLIMIT_MEMLOCK",
        fix: "LimitMEMLOCK=infinity in the unit (etc/hyper-derp.service)")
    }
    return .ok(fact)
  }

  static func portPrivilege(_ context: DoctorContext) -> CheckOutcome {
    let config = context.config
    var ports = [("port", config.port)]
    if config.metrics.port > 0 { ports.append(("metrics.port", config.metrics.port)) }
    if config.stunPort > 0 { ports.append(("stun_port", config.stunPort)) }
    if config.acme.enabled && config.acme.httpPort > 0 { ports.append(("acme.http_port", config.acme.httpPort)) }
    let start = context.root.readInt("/proc/sys/net/ipv4/ip_unprivileged_port_start") ?? 1024
    let privileged = ports.filter { $0.1 < start }
    let names = ports.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
    guard !privileged.isEmpty else {
      return .ok("\(names): not below ip_unprivileged_port_start (\(start)), no privilege needed")
    }
    let low = privileged.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
    let capability = context.processStatus.hasCapability(ProcessStatus.capNetBindService)
    let fix =
      "AmbientCapabilities=CAP_NET_BIND_SERVICE in the unit (etc/hyper-derp.service), or: sysctl -w net.ipv4.ip_unprivileged_port_start=\(privileged.map(\.1).min()!)"
    // The relay runs under its unit when one is installed: what the unit grants counts.
    if let unit = InstalledServiceUnit.read(root: context.root), !unit.runsAsRoot,
      !unit.ambientCapabilities.contains("CAP_NET_BIND_SERVICE")
    {
      return .error(
        "\(low) below ip_unprivileged_port_start (\(start)), but \(unit.path) runs the relay as \(unit.user) without "
          + "CAP_NET_BIND_SERVICE: it cannot bind there",
        fix: "AmbientCapabilities=CAP_NET_BIND_SERVICE in \(unit.path) (systemctl edit hyper-derp), or: "
          + "sysctl -w net.ipv4.ip_unprivileged_port_start=\(privileged.map(\.1).min()!)")
    }
    // The bind probe is the truth for this process; the capability bit explains it.
    for (name, port) in privileged {
      switch context.probes.bindLoopback(port: port) {
      case .ok, .failed(errno: EADDRINUSE):
        continue
      case .failed(let code):
        return .error(
          "\(name) \(port) below ip_unprivileged_port_start (\(start)): bind fails with \(errnoName(code))\(capability ? "" : ", no CAP_NET_BIND_SERVICE")",
          fix: fix)
      }
    }
    if capability {
      return .ok(
        "\(low) below \(start) needs CAP_NET_BIND_SERVICE: this process has it and can bind (the unit grants it with AmbientCapabilities=)")
    }
    return .ok("\(low) below \(start): this process can bind it")
  }
}
