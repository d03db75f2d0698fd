// How `hdctl probe` probes: trust, the mesh key, how many packets, how long
// to wait, and whether to measure bandwidth.
import HDProtocol

public struct ProbeOptions: Sendable {
  /// CA bundle for nodes without a pin; nil = OpenSSL's default verify paths.
  public var trustedCertificatesFile: String?
  /// Presented in ClientInfo: probe clients are then mesh peers, which
  /// verify_clients admits without asking the controller (derpprobe does the same).
  public var meshKey: DERPKey?
  /// Packets per packets/mesh check (round trips / deliveries timed).
  public var packets = 10
  public var packetBytes = 64
  /// Bound on each step (connect, handshake, one packet, STUN answer, mesh route learning).
  public var timeoutSeconds = 5.0
  /// 0 = no bandwidth check.
  public var bandwidthBytes = 0

  public init() {}
}

/// One node to probe, with its region. `plainTCP` only for `--relay http://…`
/// (a relay without TLS, as Tailscale's TS_DEBUG_USE_DERP_HTTP clients reach it).
public struct ProbeNode: Sendable, Equatable {
  public var regionID: Int
  public var regionCode: String
  public var node: DERPNode
  public var plainTCP = false

  public init(regionID: Int, regionCode: String, node: DERPNode, plainTCP: Bool = false) {
    self.regionID = regionID
    self.regionCode = regionCode
    self.node = node
    self.plainTCP = plainTCP
  }

  /// What to dial: the map's IPv4, else its IPv6, else the host name.
  public var dialHost: String {
    if !node.ipv4.isEmpty, node.ipv4 != "none" { return node.ipv4 }
    if !node.ipv6.isEmpty, node.ipv6 != "none" { return node.ipv6 }
    return node.hostName
  }

  /// Where STUN goes: STUNTestIP when set, else as `dialHost`.
  public var stunHost: String { node.stunTestIP.isEmpty ? dialHost : node.stunTestIP }
}

extension DERPMap {
  /// Every node except STUN-only ones, region by region, in map order.
  public var probeNodes: [ProbeNode] {
    sortedRegions.flatMap { region in
      region.nodes.filter { !$0.stunOnly }.map { ProbeNode(regionID: region.regionID, regionCode: region.regionCode, node: $0) }
    }
  }
}
