// One pass over every node of a DERP map, derpprobe's checks in order: per
// node connect, TLS, DERP handshake, packets between two clients, STUN and
// (optionally) bandwidth; then, per region, mesh forwarding for every ordered
// pair of nodes. A failed step skips the steps that need it, never the other
// nodes.
import HDClient
import HDConfig
import HDProtocol

public enum ProbeRunner {
  public static func run(_ nodes: [ProbeNode], options: ProbeOptions) -> ProbeReport {
    let startedAt = UTCDate.nowSeconds()
    let started = MonotonicClock.seconds()
    var checks: [ProbeCheckResult] = []
    var facts: [ProbeNodeFacts] = []
    /// Two connected clients per node that passed the DERP handshake.
    var clients: [String: (DERPClient, DERPClient)] = [:]
    for target in nodes {
      let (nodeChecks, nodeFacts, pair) = probeNode(target, options)
      checks += nodeChecks
      facts.append(nodeFacts)
      if let pair { clients[target.node.name] = pair }
    }
    for region in Dictionary(grouping: nodes, by: \.regionID).sorted(by: { $0.key < $1.key }).map(\.value) where region.count > 1 {
      for from in region {
        for to in region where to.node.name != from.node.name {
          checks.append(meshCheck(from, to, clients, options))
        }
      }
    }
    for (a, b) in clients.values {
      a.close()
      b.close()
    }
    return ProbeReport(startedAtSeconds: startedAt, durationSeconds: MonotonicClock.seconds() - started, checks: checks, nodes: facts)
  }

  static func probeNode(_ target: ProbeNode, _ options: ProbeOptions)
    -> ([ProbeCheckResult], ProbeNodeFacts, (DERPClient, DERPClient)?)
  {
    let region = target.regionCode
    let name = target.node.name
    var facts = ProbeNodeFacts(regionCode: region, node: name)
    var checks: [ProbeCheckResult] = []
    func result(_ kind: ProbeCheckKind, _ outcome: ProbeOutcome, _ detail: String) -> ProbeCheckResult {
      ProbeCheckResult(kind: kind, regionCode: region, node: name, outcome: outcome, detail: detail)
    }
    let first = ProbeConnection.open(target, options)
    var pair: (DERPClient, DERPClient)?
    switch first {
    case .failure(let failure):
      let steps: [ProbeCheckKind] = [.connect, .tls, .derp]
      let failedAt = steps.firstIndex(of: failure.kind) ?? 0
      for (index, kind) in steps.enumerated() {
        if index < failedAt { checks.append(result(kind, .ok, "ok")) }
        if index == failedAt { checks.append(result(kind, .failed, failure.detail)) }
        if index > failedAt { checks.append(result(kind, .skipped, "not run: \(failure.kind.rawValue) failed")) }
      }
      checks.append(result(.packets, .skipped, "not run: \(failure.kind.rawValue) failed"))
    case .success(let connection):
      facts.certificateNotAfter = connection.leaf?.notAfter
      facts.serverKey = connection.client.serverKey
      checks.append(result(.connect, .ok, "\(target.dialHost) port \(target.node.effectiveDERPPort) in \(milliseconds(connection.connectSeconds))"))
      checks.append(result(.tls, .ok, tlsDetail(connection)))
      let key = connection.client.serverKey.hex
      checks.append(result(.derp, .ok, "server key \(key.prefix(16))…, handshake \(milliseconds(connection.derpSeconds))"))
      switch ProbeConnection.open(target, options) {
      case .failure(let failure):
        checks.append(result(.packets, .failed, "second client: \(failure.kind.rawValue): \(failure.detail)"))
        connection.client.close()
      case .success(let second):
        pair = (connection.client, second.client)
        switch ProbePackets.roundTrips(
          connection.client, second.client, count: options.packets, bytes: options.packetBytes, timeoutSeconds: options.timeoutSeconds)
        {
        case .failure(let failure): checks.append(result(.packets, .failed, failure.detail))
        case .success(let times):
          var check = result(.packets, .ok, "\(times.count)/\(options.packets) round trips, " + latencySummary(times, "rtt"))
          check.latencySeconds = times
          checks.append(check)
        }
      }
    }
    checks.append(stunCheck(target, options))
    if options.bandwidthBytes > 0 {
      if let (a, b) = pair {
        switch ProbeBandwidth.measure(a, b, bytes: options.bandwidthBytes, timeoutSeconds: options.timeoutSeconds) {
        case .failure(let failure): checks.append(result(.bandwidth, .failed, failure.detail))
        case .success(let (rate, lost)):
          facts.bandwidthBytesPerSecond = rate
          let sent = (options.bandwidthBytes + ProbeBandwidth.packetBytes - 1) / ProbeBandwidth.packetBytes
          let summary = "\(String(format1: rate * 8 / 1e6)) Mbit/s, \(lost) of \(sent) packets lost"
          // Backpressure makes loss on a healthy relay rare; more than 1 % is a problem.
          checks.append(result(.bandwidth, lost * 100 > sent ? .failed : .ok, summary))
        }
      } else {
        checks.append(result(.bandwidth, .skipped, "not run: no two clients on the node"))
      }
    }
    return (checks, facts, pair)
  }

  static func stunCheck(_ target: ProbeNode, _ options: ProbeOptions) -> ProbeCheckResult {
    var check = ProbeCheckResult(kind: .stun, regionCode: target.regionCode, node: target.node.name, outcome: .skipped, detail: "")
    guard let port = target.node.effectiveSTUNPort else {
      check.detail = "STUN is off in the map (STUNPort -1)"
      return check
    }
    switch STUNBinding.probe(host: target.stunHost, port: port, timeoutSeconds: options.timeoutSeconds) {
    case .failure(let failure):
      check.outcome = .failed
      check.detail = failure.detail
    case .success(let answer):
      check.outcome = .ok
      check.detail =
        answer.behindNAT
        ? "answered \(answer.mapped) (we are \(answer.local), behind NAT) in \(milliseconds(answer.seconds))"
        : "answered with our own address \(answer.mapped) in \(milliseconds(answer.seconds))"
      check.latencySeconds = [answer.seconds]
    }
    return check
  }

  static func meshCheck(_ from: ProbeNode, _ to: ProbeNode, _ clients: [String: (DERPClient, DERPClient)], _ options: ProbeOptions)
    -> ProbeCheckResult
  {
    var check = ProbeCheckResult(
      kind: .mesh, regionCode: from.regionCode, node: from.node.name, peer: to.node.name, outcome: .skipped, detail: "")
    guard let sender = clients[from.node.name]?.0, let receiver = clients[to.node.name]?.1 else {
      check.detail = "not run: a node has no working clients"
      return check
    }
    switch ProbePackets.meshDeliveries(sender, receiver, count: options.packets, bytes: options.packetBytes, timeoutSeconds: options.timeoutSeconds) {
    case .failure(let failure):
      check.outcome = .failed
      check.detail = failure.detail
    case .success(let times):
      check.outcome = .ok
      check.detail = "\(times.count)/\(options.packets) delivered, " + latencySummary(times, "one-way")
      check.latencySeconds = times
    }
    return check
  }

  static func tlsDetail(_ connection: ProbeConnection) -> String {
    guard let version = connection.tlsVersion else { return connection.verifiedAs }
    var detail = "TLS \(version == .tls13 ? "1.3" : "1.2"), \(connection.verifiedAs)"
    if let leaf = connection.leaf {
      let now = UTCDate.nowSeconds()
      detail += ", expires \(UTCDate.format(leaf.notAfter)) (\(leaf.daysLeft(now: now)) days)"
    }
    return detail
  }

  static func latencySummary(_ times: [Double], _ what: String) -> String {
    let p = [0.5, 0.9, 0.99].map { percentile(times, $0).map(milliseconds) ?? "?" }
    return "\(what) p50 \(p[0]), p90 \(p[1]), p99 \(p[2])"
  }

  static func milliseconds(_ seconds: Double) -> String { "\(String(format1: seconds * 1000)) ms" }
}

extension String {
  /// One decimal, without Foundation's formatter.
  init(format1 value: Double) {
    let scaled = (value * 10).rounded()
    let whole = Int64(scaled) / 10
    let tenth = abs(Int64(scaled) % 10)
    self = (scaled < 0 && whole == 0 ? "-" : "") + "\(whole).\(tenth)"
  }
}
