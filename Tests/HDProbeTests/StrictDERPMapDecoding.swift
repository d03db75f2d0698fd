// A strict reading of tailcfg's DERP map JSON, written from derpmap.go
// independently of HDProbe's encoder and decoder: only the documented field
// names, each with its Go type (int, string, bool, float64), and the fields Go
// always writes (no omitempty) required. Any unknown or misspelled key fails.
import Foundation

struct StrictDecodingError: Error, CustomStringConvertible {
  let description: String
}

private struct AnyKey: CodingKey {
  var stringValue: String
  var intValue: Int? { nil }
  init(stringValue: String) { self.stringValue = stringValue }
  init?(intValue: Int) { nil }
}

/// Decodes a keyed container and refuses keys outside `Keys`.
private func refuseUnknownKeys<Keys: CodingKey & CaseIterable>(_ decoder: Decoder, _: Keys.Type, at type: String) throws {
  let all = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
  let known = Set(Keys.allCases.map(\.stringValue))
  for key in all where !known.contains(key) {
    throw StrictDecodingError(description: "\(type): unknown field \"\(key)\"")
  }
}

struct StrictDERPMap: Decodable {
  let regions: [String: StrictDERPRegion]
  let omitDefaultRegions: Bool?

  enum CodingKeys: String, CodingKey, CaseIterable {
    case regions = "Regions"
    case omitDefaultRegions
  }

  init(from decoder: Decoder) throws {
    try refuseUnknownKeys(decoder, CodingKeys.self, at: "DERPMap")
    let c = try decoder.container(keyedBy: CodingKeys.self)
    regions = try c.decode([String: StrictDERPRegion].self, forKey: .regions)
    omitDefaultRegions = try c.decodeIfPresent(Bool.self, forKey: .omitDefaultRegions)
    for key in regions.keys where Int(key) == nil {
      throw StrictDecodingError(description: "Regions key \"\(key)\" is not an int")
    }
  }
}

struct StrictDERPRegion: Decodable {
  let regionID: Int
  let regionCode: String
  let regionName: String
  let latitude: Double?
  let longitude: Double?
  let avoid: Bool?
  let nodes: [StrictDERPNode]

  enum CodingKeys: String, CodingKey, CaseIterable {
    case regionID = "RegionID", regionCode = "RegionCode", regionName = "RegionName", latitude = "Latitude"
    case longitude = "Longitude", avoid = "Avoid", nodes = "Nodes"
  }

  init(from decoder: Decoder) throws {
    try refuseUnknownKeys(decoder, CodingKeys.self, at: "DERPRegion")
    let c = try decoder.container(keyedBy: CodingKeys.self)
    regionID = try c.decode(Int.self, forKey: .regionID)
    regionCode = try c.decode(String.self, forKey: .regionCode)
    regionName = try c.decode(String.self, forKey: .regionName)
    latitude = try c.decodeIfPresent(Double.self, forKey: .latitude)
    longitude = try c.decodeIfPresent(Double.self, forKey: .longitude)
    avoid = try c.decodeIfPresent(Bool.self, forKey: .avoid)
    nodes = try c.decode([StrictDERPNode].self, forKey: .nodes)
  }
}

struct StrictDERPNode: Decodable {
  let name: String
  let regionID: Int
  let hostName: String
  let certName: String?
  let ipv4: String?
  let ipv6: String?
  let stunPort: Int?
  let stunOnly: Bool?
  let derpPort: Int?
  let insecureForTests: Bool?
  let stunTestIP: String?
  let canPort80: Bool?

  enum CodingKeys: String, CodingKey, CaseIterable {
    case name = "Name", regionID = "RegionID", hostName = "HostName", certName = "CertName", ipv4 = "IPv4"
    case ipv6 = "IPv6", stunPort = "STUNPort", stunOnly = "STUNOnly", derpPort = "DERPPort"
    case insecureForTests = "InsecureForTests", stunTestIP = "STUNTestIP", canPort80 = "CanPort80"
  }

  init(from decoder: Decoder) throws {
    try refuseUnknownKeys(decoder, CodingKeys.self, at: "DERPNode")
    let c = try decoder.container(keyedBy: CodingKeys.self)
    name = try c.decode(String.self, forKey: .name)
    regionID = try c.decode(Int.self, forKey: .regionID)
    hostName = try c.decode(String.self, forKey: .hostName)
    certName = try c.decodeIfPresent(String.self, forKey: .certName)
    ipv4 = try c.decodeIfPresent(String.self, forKey: .ipv4)
    ipv6 = try c.decodeIfPresent(String.self, forKey: .ipv6)
    stunPort = try c.decodeIfPresent(Int.self, forKey: .stunPort)
    stunOnly = try c.decodeIfPresent(Bool.self, forKey: .stunOnly)
    derpPort = try c.decodeIfPresent(Int.self, forKey: .derpPort)
    insecureForTests = try c.decodeIfPresent(Bool.self, forKey: .insecureForTests)
    stunTestIP = try c.decodeIfPresent(String.self, forKey: .stunTestIP)
    canPort80 = try c.decodeIfPresent(Bool.self, forKey: .canPort80)
  }
}

struct StrictPolicyFile: Decodable {
  let derpMap: StrictDERPMap

  enum CodingKeys: String, CodingKey, CaseIterable { case derpMap }

  init(from decoder: Decoder) throws {
    try refuseUnknownKeys(decoder, CodingKeys.self, at: "policy file")
    derpMap = try decoder.container(keyedBy: CodingKeys.self).decode(StrictDERPMap.self, forKey: .derpMap)
  }
}
