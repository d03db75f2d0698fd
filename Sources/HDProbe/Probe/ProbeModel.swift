// What `hdctl probe` checks and what it found. One check result per
// (kind, node[, peer]); a report is one pass over every node of a DERP map.
import HDProtocol

public enum ProbeCheckKind: String, Sendable, CaseIterable {
  /// TCP connect to the node's DERP port.
  case connect
  /// TLS handshake: chain valid for the name, or the `sha256-raw:` pin; days to expiry.
  case tls
  /// DERP upgrade and handshake: server key, ServerInfo.
  case derp
  /// Two clients on the node exchange packets; round-trip times.
  case packets
  /// STUN binding request to the node's STUN port; the answer carries our address.
  case stun
  /// A client on one node sends to a client on another node of the region (mesh forwarding).
  case mesh
  /// S bytes from one client to another through the node.
  case bandwidth
}

public enum ProbeOutcome: String, Sendable {
  case ok
  case failed
  /// Not run: an earlier check of the node failed, or the map turns it off.
  case skipped
}

public struct ProbeCheckResult: Sendable, Equatable {
  public var kind: ProbeCheckKind
  public var regionCode: String
  public var node: String
  /// The receiving node of a mesh check.
  public var peer: String?
  public var outcome: ProbeOutcome
  public var detail: String
  /// packets: round-trip times; mesh: one-way delivery times (same clock at both ends).
  public var latencySeconds: [Double] = []
  public var durationSeconds: Double = 0

  public init(kind: ProbeCheckKind, regionCode: String, node: String, peer: String? = nil, outcome: ProbeOutcome, detail: String) {
    self.kind = kind
    self.regionCode = regionCode
    self.node = node
    self.peer = peer
    self.outcome = outcome
    self.detail = detail
  }

  /// "900a" or "900a->900b".
  public var target: String { peer.map { "\(node)->\($0)" } ?? node }
}

/// Facts about a node gathered while probing it.
public struct ProbeNodeFacts: Sendable, Equatable {
  public var regionCode: String
  public var node: String
  /// The served leaf certificate's notAfter, seconds since the epoch.
  public var certificateNotAfter: Int64?
  public var serverKey: DERPKey?
  public var bandwidthBytesPerSecond: Double?
}

public struct ProbeReport: Sendable {
  public var startedAtSeconds: Int64
  public var durationSeconds: Double
  public var checks: [ProbeCheckResult]
  public var nodes: [ProbeNodeFacts]

  public var failed: [ProbeCheckResult] { checks.filter { $0.outcome == .failed } }
  public var allPassed: Bool { failed.isEmpty }
}

/// Nearest-rank percentile of unsorted samples; nil when empty.
public func percentile(_ samples: [Double], _ fraction: Double) -> Double? {
  guard !samples.isEmpty else { return nil }
  let sorted = samples.sorted()
  let rank = Int((fraction * Double(sorted.count)).rounded(.up))
  return sorted[min(max(rank, 1), sorted.count) - 1]
}
