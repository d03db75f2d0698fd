// Tailscale's DERP map (tailcfg.DERPMap, DERPRegion, DERPNode): the field
// names, types and omitempty rules of their JSON form, so what `hdctl derpmap`
// prints is what a Tailscale client or control server decodes, and what
// `hdctl probe` reads is what they would read. Decoding is as lenient as Go's
// encoding/json (unknown fields ignored, absent fields zero); the strict
// check of our own output lives in the tests.

public struct DERPNode: Sendable, Equatable {
  /// Unique across all regions, e.g. "900a"; not a host name.
  public var name: String
  public var regionID: Int
  /// Required: the TLS name clients dial (and send as SNI).
  public var hostName: String
  /// Expected certificate name, or `sha256-raw:<hex>` to pin a self-signed certificate.
  public var certName: String = ""
  /// Address to dial instead of resolving HostName ("none" disables the family).
  public var ipv4: String = ""
  public var ipv6: String = ""
  /// 0 means 3478; -1 means no STUN on this node.
  public var stunPort: Int = 0
  public var stunOnly: Bool = false
  /// 0 means 443.
  public var derpPort: Int = 0
  /// Clients skip TLS verification (tests only).
  public var insecureForTests: Bool = false
  public var stunTestIP: String = ""
  public var canPort80: Bool = false

  public init(name: String, regionID: Int, hostName: String) {
    self.name = name
    self.regionID = regionID
    self.hostName = hostName
  }

  /// The TCP port clients dial for DERP.
  public var effectiveDERPPort: Int { derpPort == 0 ? 443 : derpPort }
  /// The UDP port clients send STUN to; nil when STUN is off.
  public var effectiveSTUNPort: Int? { stunPort < 0 ? nil : (stunPort == 0 ? 3478 : stunPort) }
}

public struct DERPRegion: Sendable, Equatable {
  public var regionID: Int
  public var regionCode: String
  public var regionName: String
  public var latitude: Double = 0
  public var longitude: Double = 0
  public var avoid: Bool = false
  public var nodes: [DERPNode]

  public init(regionID: Int, regionCode: String, regionName: String, nodes: [DERPNode]) {
    self.regionID = regionID
    self.regionCode = regionCode
    self.regionName = regionName
    self.nodes = nodes
  }
}

public struct DERPMap: Sendable, Equatable {
  /// Keyed by RegionID.
  public var regions: [Int: DERPRegion]
  public var omitDefaultRegions: Bool

  public init(regions: [Int: DERPRegion], omitDefaultRegions: Bool = false) {
    self.regions = regions
    self.omitDefaultRegions = omitDefaultRegions
  }

  /// Regions in RegionID order (Go sorts map keys when it encodes).
  public var sortedRegions: [DERPRegion] { regions.keys.sorted().map { regions[$0]! } }
}

/// The JSON names, exactly as tailcfg spells them.
public enum DERPMapFieldNames {
  public static let map = ["Regions", "omitDefaultRegions", "HomeParams"]
  public static let region = ["RegionID", "RegionCode", "RegionName", "Latitude", "Longitude", "Avoid", "Nodes"]
  public static let node = [
    "Name", "RegionID", "HostName", "CertName", "IPv4", "IPv6", "STUNPort", "STUNOnly", "DERPPort",
    "InsecureForTests", "STUNTestIP", "CanPort80",
  ]
}
