// Kernel TLS: module, a real TCP_ULP probe, boot persistence, counters.
import HDConfig

extension DoctorChecks {
  static let modulesLoadDirectories = [
    "/etc/modules-load.d", "/run/modules-load.d", "/usr/local/lib/modules-load.d", "/usr/lib/modules-load.d",
  ]

  static func ktlsModule(_ context: DoctorContext) -> CheckOutcome {
    let root = context.root
    let ulps = root.readValue("/proc/sys/net/ipv4/tcp_available_ulp") ?? ""
    let ulpText = ulps.isEmpty ? "none" : ulps
    let loaded = root.isDirectory("/sys/module/tls") || ulps.split(separator: " ").contains("tls")
    if loaded {
      return .ok("tls module loaded (tcp_available_ulp: \(ulpText))")
    }
    if context.config.ktls == .off {
      return .skipped("tls module not loaded; ktls: off in the config, so TLS stays in userspace")
    }
    let release = context.kernelRelease ?? "$(uname -r)"
    if moduleAvailable(root: root, release: release) {
      return .error(
        "tls module not loaded (tcp_available_ulp: \(ulpText)): TLS would be encrypted in userspace",
        fix: "modprobe tls && echo tls > \(PersistedFiles.modulesLoad)   # or: hdctl tune --persist")
    }
    return .error(
      "this kernel has no tls module (tcp_available_ulp: \(ulpText); no tls.ko under /lib/modules/\(release)): TLS would be encrypted in userspace",
      fix: "boot a kernel built with CONFIG_TLS=m (Debian 12's linux-image-amd64 ships tls.ko), then: modprobe tls && echo tls > \(PersistedFiles.modulesLoad)")
  }

  /// tls.ko listed in modules.dep (loadable) or modules.builtin.
  static func moduleAvailable(root: FileSystemRoot, release: String) -> Bool {
    for file in ["modules.dep", "modules.builtin"] {
      guard let text = root.readText("/lib/modules/\(release)/\(file)") else { continue }
      for line in text.split(separator: "\n") where line.hasPrefix("kernel/net/tls/tls.ko") {
        return true
      }
    }
    return false
  }

  static func ktlsProbe(_ context: DoctorContext) -> CheckOutcome {
    switch context.probes.kernelTLSULP() {
    case .ok:
      return .ok("setsockopt(TCP_ULP, \"tls\") works on a loopback TCP connection")
    case .failed(let code):
      return .error(
        "setsockopt(TCP_ULP, \"tls\") fails with \(errnoName(code)) although the module is loaded (a sandbox or LSM blocks it)",
        fix: "allow TCP_ULP for the relay in the sandbox/LSM policy, or set ktls: off in \(context.configFileForFixes)")
    }
  }

  static func ktlsBoot(_ context: DoctorContext) -> CheckOutcome {
    let root = context.root
    var files: [String] = []
    for directory in modulesLoadDirectories {
      for name in root.list(directory) where name.hasSuffix(".conf") { files.append(directory + "/" + name) }
    }
    files.append("/etc/modules")  // Debian's older list, still read at boot
    for file in files {
      guard let text = root.readText(file) else { continue }
      let listed = text.split(separator: "\n").contains { line in
        let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return content.trimmingWhitespace() == "tls"
      }
      if listed { return .ok("tls is loaded at boot (\(file))") }
    }
    if context.config.ktls == .off {
      return .ok("tls is not in modules-load.d; not needed, ktls: off in the config")
    }
    return .warning(
      "tls is loaded now but no modules-load.d file lists it: after a reboot the relay falls back to userspace TLS",
      fix: "echo tls > \(PersistedFiles.modulesLoad)   # or: hdctl tune --persist")
  }

  static func ktlsStats(_ context: DoctorContext) -> CheckOutcome {
    guard let text = context.root.readText("/proc/net/tls_stat") else {
      return .warning(
        "/proc/net/tls_stat is missing although the module is loaded (another network namespace?)",
        fix: "run hdctl doctor in the relay's network namespace (nsenter --net=/proc/$(pidof hyper-derp)/ns/net hdctl doctor)")
    }
    var counters: [(String, Int)] = []
    for line in text.split(separator: "\n") {
      let fields = line.split(whereSeparator: \.isWhitespace)
      if fields.count == 2, let value = Int(fields[1]) { counters.append((String(fields[0]), value)) }
    }
    let nonZero = counters.filter { $0.1 != 0 }.map { "\($0.0) \($0.1)" }
    let summary = nonZero.isEmpty ? "all \(counters.count) counters 0" : nonZero.joined(separator: ", ")
    if let errors = counters.first(where: { $0.0 == "TlsDecryptError" })?.1, errors > 0 {
      return .warning(
        "TlsDecryptError \(errors): records failed to decrypt since boot (\(summary))",
        fix: "watch it: grep TlsDecryptError /proc/net/tls_stat; if it keeps rising set ktls: off in \(context.configFileForFixes) and report it")
    }
    return .ok("/proc/net/tls_stat: \(summary)")
  }
}
