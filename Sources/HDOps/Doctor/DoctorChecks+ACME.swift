// The ACME prerequisites doctor can see from this host: the CA validates on
// ports 443 (TLS-ALPN-01) and 80 (HTTP-01), so those must be the relay's and
// free for it (or already its own); the cache directory must be writable; and
// the names should resolve to this host. What cannot be seen from here (a
// firewall, NAT in front) is named in the facts instead of guessed.
import HDConfig

extension DoctorChecks {
  /// The ports a CA dials for each challenge (RFC 8737 §3, RFC 8555 §8.3).
  static let tlsALPNPort = 443
  static let httpChallengePort = 80

  private static func acmeNotConfigured(_ context: DoctorContext) -> CheckOutcome? {
    context.config.acme.enabled ? nil : .skipped("no acme section: the DERP certificate does not come from ACME")
  }

  static func acmeChallengePorts(_ context: DoctorContext) -> CheckOutcome {
    if let skipped = acmeNotConfigured(context) { return skipped }
    let config = context.config
    let acme = config.acme
    var reachable: [String] = []
    var unreachable: [String] = []
    var fixes: [String] = []
    var direct: [ACMEChallengeType] = []
    for challenge in acme.usableChallenges {
      // Where the relay answers it, and where the CA connects.
      let (key, name, port, dialed) =
        challenge == .tlsALPN01
        ? ("port", "the DERP port", config.port, tlsALPNPort)
        : ("acme.http_port", "acme.http_port", acme.httpPort, httpChallengePort)
      if port == dialed {
        direct.append(challenge)
        reachable.append("\(challenge.rawValue) on \(name) \(port)")
      } else {
        unreachable.append("\(challenge.rawValue): the CA connects to port \(dialed) but \(name) is \(port)")
        fixes.append("\(key): \(dialed) (or forward TCP \(dialed) to \(port))")
      }
    }
    let unused = acme.challenges.contains(.http01) && acme.httpPort == 0 ? "; http-01 is listed but unused without acme.http_port" : ""
    guard !unreachable.isEmpty else {
      return .ok(reachable.joined(separator: ", ") + ": the ports the CA validates on" + unused)
    }
    // The relay answers the first listed challenge the CA offers, so one on the wrong port fails the order.
    let only =
      direct.isEmpty
      ? "" : "; or acme.challenges: [\(direct.map(\.rawValue).joined(separator: ", "))] to use only what the CA reaches directly"
    return .warning(
      unreachable.joined(separator: "; ")
        + ": validation fails unless something in front (NAT, a container port mapping) forwards it" + unused,
      fix: "set " + fixes.joined(separator: " and ") + " in \(context.configFileForFixes)" + only)
  }

  /// The ports the relay must open for ACME, with the setting that names each.
  static func acmeListenPorts(_ config: Config) -> [(setting: String, port: Int)] {
    var ports: [(String, Int)] = []
    if config.acme.usableChallenges.contains(.tlsALPN01) { ports.append(("port", config.port)) }
    if config.acme.httpPort != 0 { ports.append(("acme.http_port", config.acme.httpPort)) }
    return ports
  }

  static func acmePortsFree(_ context: DoctorContext) -> CheckOutcome {
    if let skipped = acmeNotConfigured(context) { return skipped }
    var facts: [String] = []
    var unseen: [String] = []
    for (setting, port) in acmeListenPorts(context.config) {
      let listeners = context.probes.tcpListeners(port: port)
      let others = listeners.filter { $0.pid != nil && $0.command != relayCommand }
      if let other = others.first {
        let who = "\(other.command ?? "a process") (pid \(other.pid!))"
        return .error(
          "\(setting) \(port) is held by \(who): the relay cannot listen there and the CA's validation reaches \(other.command ?? "it")",
          fix: "stop \(other.command ?? "pid \(other.pid!)") or move it off port \(port) (ss -ltnp 'sport = :\(port)' shows it), "
            + "or change \(setting) in \(context.configFileForFixes)")
      }
      if listeners.contains(where: { $0.pid == nil }) {
        unseen.append("\(setting) \(port)")
      } else if let relay = listeners.first {
        facts.append("\(setting) \(port) held by \(relayCommand) (pid \(relay.pid!)), the relay itself")
      } else {
        facts.append("\(setting) \(port) free")
      }
    }
    guard unseen.isEmpty else {
      return .warning(
        unseen.joined(separator: ", ") + " in use by a process this user cannot see",
        fix: "sudo hdctl doctor --only ACME_PORTS_FREE   # names the process; or: sudo ss -ltnp")
    }
    return .ok(facts.joined(separator: ", "))
  }

  /// The daemon's executable name, how a port held by this relay is told apart.
  static let relayCommand = "hyper-derp"

  static func acmeCacheDir(_ context: DoctorContext) -> CheckOutcome {
    if let skipped = acmeNotConfigured(context) { return skipped }
    let directory = context.config.acme.cacheDir
    let real = directory.hasPrefix("/") ? context.root.resolve(directory) : directory
    if let problem = ACMEConfigChecks.cacheDirectoryProblem(real) {
      return .error(
        "acme.cache_dir \(directory) \(context.root.hostPaths(in: problem)): the account key and certificates cannot be kept",
        fix: "mkdir -p \(directory) && chown the relay's user (systemd: StateDirectory=hyper-derp makes /var/lib/hyper-derp)")
    }
    let state = context.root.isDirectory(directory) ? "writable" : "missing, its parent writable (the relay creates it)"
    return .ok("acme.cache_dir \(directory) \(state) for uid \(context.probes.effectiveUserID())")
  }

  static func acmeDNS(_ context: DoctorContext) -> CheckOutcome {
    if let skipped = acmeNotConfigured(context) { return skipped }
    let acme = context.config.acme
    guard let local = context.probes.localAddresses() else {
      return .skipped("this host's addresses cannot be read (getifaddrs failed): compare the DNS records by hand")
    }
    let localSet = Set(local.compactMap(NetworkProbes.canonicalAddress))
    var here: [String] = []
    var elsewhere: [String] = []
    var unknown: [String] = []
    var unchecked: [String] = []
    for name in acme.domains {
      switch context.probes.resolve(host: name) {
      case .addresses(let addresses):
        let canonical = addresses.compactMap(NetworkProbes.canonicalAddress)
        if canonical.contains(where: localSet.contains) {
          here.append(name)
        } else {
          elsewhere.append("\(name) → \(addresses.joined(separator: ", "))")
        }
      case .unknownName(let why): unknown.append("\(name) (\(why))")
      case .unavailable(let why): unchecked.append("\(name) (\(why))")
      }
    }
    for address in acme.ipAddresses {
      if let canonical = NetworkProbes.canonicalAddress(address), localSet.contains(canonical) {
        here.append(address)
      } else {
        elsewhere.append("\(address) is not an address of this host")
      }
    }
    let hostAddresses = local.filter { !$0.hasPrefix("127.") && $0 != "::1" && !$0.hasPrefix("fe80:") }
    let listed = hostAddresses.isEmpty ? "only loopback" : hostAddresses.joined(separator: ", ")
    if !unknown.isEmpty {
      return .warning(
        "does not resolve: \(unknown.joined(separator: ", ")); the CA cannot validate a name without an address",
        fix: "add A/AAAA records pointing at this host (its addresses: \(listed))")
    }
    if !elsewhere.isEmpty {
      return .warning(
        "\(elsewhere.joined(separator: "; ")), none an address of this host (\(listed)): fine only behind NAT or a "
          + "load balancer that forwards the challenge ports here",
        fix: "point the DNS records at this host, or check the forwarding from those addresses")
    }
    if !unchecked.isEmpty {
      return .skipped(
        (here.isEmpty ? "" : "\(here.joined(separator: ", ")) resolve to this host; ")
          + "cannot check \(unchecked.joined(separator: ", ")): no DNS answer here")
    }
    return .ok("\(here.joined(separator: ", ")) resolve to an address of this host")
  }
}
