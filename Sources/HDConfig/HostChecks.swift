// Warnings that depend on the machine the check runs on. They are never errors:
// the config may be meant for a bigger production host.

enum HostChecks {
  static let marker = "host-specific: "

  static func check(_ config: Config, facts: HostFacts, origins: [String: SettingOrigin]) -> [Diagnostic] {
    var diagnostics: [Diagnostic] = []
    func warn(_ key: String, _ code: DiagnosticCode, _ message: String, suggestion: String? = nil) {
      diagnostics.append(
        (origins[key] ?? .builtIn).diagnostic(
          .warning, code, key: key, marker + message, suggestion: suggestion, hostSpecific: true))
    }

    if let online = facts.onlineCPUs {
      let offline = config.pinCores.filter { !online.contains($0) }
      if !offline.isEmpty {
        let list = HostFacts.formatCPUList(Set(offline))
        warn(
          "pin_cores", .hostCPUOffline,
          "CPU\(offline.count == 1 ? "" : "s") \(list) \(offline.count == 1 ? "is" : "are") not online on this host (online: \(HostFacts.formatCPUList(online))); the daemon would refuse to pin to \(offline.count == 1 ? "it" : "them") here")
      }
    }

    if let allowed = facts.allowedCPUs {
      let online = facts.onlineCPUs ?? Set(config.pinCores)
      // Offline CPUs were reported above; here the online ones this process may not use.
      let forbidden = config.pinCores.filter { online.contains($0) && !allowed.contains($0) }
      if !forbidden.isEmpty {
        warn(
          "pin_cores", .hostCPUNotAllowed,
          "CPU\(forbidden.count == 1 ? "" : "s") \(HostFacts.formatCPUList(Set(forbidden))) \(forbidden.count == 1 ? "is" : "are") outside the CPUs this process may use here (allowed: \(HostFacts.formatCPUList(allowed))); check CPUAffinity= and the cgroup cpuset",
          suggestion: nil)
      }
    }

    var reported: Set<Int> = []
    for (index, core) in config.pinCores.enumerated() where !reported.contains(core) {
      guard let siblings = facts.smtSiblings[core] else { continue }
      for other in config.pinCores[(index + 1)...] where other != core && siblings.contains(other) {
        reported.insert(other)
        warn(
          "pin_cores", .hostSMTSiblings,
          "CPUs \(core) and \(other) are SMT siblings (one physical core) on this host; two workers there share one core",
          suggestion: "pin workers to different physical cores")
      }
    }

    if config.sockbufBytes > 0 {
      for (name, limit) in [("net.core.rmem_max", facts.rmemMaxBytes), ("net.core.wmem_max", facts.wmemMaxBytes)] {
        guard let limit, config.sockbufBytes > limit else { continue }
        warn(
          "sockbuf", .hostSockbufCapped,
          "sockbuf \(config.sockbufBytes) is above this host's \(name) (\(limit)); the kernel silently caps it",
          suggestion: "raise \(name) (hdctl tune) or lower sockbuf")
      }
    }
    return diagnostics
  }
}
