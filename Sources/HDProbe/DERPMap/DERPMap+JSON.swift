// The DERP map as JSON, both ways. Encoding follows Go's json.MarshalIndent of
// tailcfg.DERPMap: struct field order, two-space indent, region keys as
// decimal strings in numeric order, `omitempty` fields left out when zero.
// Decoding follows Go's json.Unmarshal: field names matched case-insensitively,
// unknown fields ignored, missing fields zero, but a value of the wrong type
// is an error (Go refuses "443" for an int too).
import HDProtocol

extension DERPMap {
  /// `{"Regions": {...}}` as a tailcfg.DERPMap document.
  public func jsonText() -> String {
    var out = "{\n"
    var fields: [String] = []
    fields.append("  \"Regions\": " + regionsJSON(indent: "  "))
    if omitDefaultRegions { fields.append("  \"omitDefaultRegions\": true") }
    out += fields.joined(separator: ",\n")
    return out + "\n}\n"
  }

  /// The `derpMap` section of a Tailscale policy file (tailnet ACLs, HuJSON).
  public func policyFileText() -> String {
    var lines = ["{", "  \"derpMap\": {"]
    var fields: [String] = []
    if omitDefaultRegions { fields.append("    \"omitDefaultRegions\": true") }
    fields.append("    \"Regions\": " + regionsJSON(indent: "    "))
    lines.append(fields.joined(separator: ",\n"))
    lines += ["  }", "}"]
    return lines.joined(separator: "\n") + "\n"
  }

  func regionsJSON(indent: String) -> String {
    guard !regions.isEmpty else { return "{}" }
    let inner = indent + "  "
    let entries = sortedRegions.map { inner + "\"\($0.regionID)\": " + $0.jsonText(indent: inner) }
    return "{\n" + entries.joined(separator: ",\n") + "\n" + indent + "}"
  }
}

extension DERPRegion {
  func jsonText(indent: String) -> String {
    let inner = indent + "  "
    var fields = [
      "\"RegionID\": \(regionID)", "\"RegionCode\": " + JSONValue.quote(regionCode),
      "\"RegionName\": " + JSONValue.quote(regionName),
    ]
    if latitude != 0 { fields.append("\"Latitude\": \(latitude)") }
    if longitude != 0 { fields.append("\"Longitude\": \(longitude)") }
    if avoid { fields.append("\"Avoid\": true") }
    let nodeIndent = inner + "  "
    let nodesText =
      nodes.isEmpty
      ? "[]" : "[\n" + nodes.map { nodeIndent + $0.jsonText(indent: nodeIndent) }.joined(separator: ",\n") + "\n" + inner + "]"
    fields.append("\"Nodes\": " + nodesText)
    return "{\n" + fields.map { inner + $0 }.joined(separator: ",\n") + "\n" + indent + "}"
  }
}

extension DERPNode {
  func jsonText(indent: String) -> String {
    let inner = indent + "  "
    var fields = [
      "\"Name\": " + JSONValue.quote(name), "\"RegionID\": \(regionID)", "\"HostName\": " + JSONValue.quote(hostName),
    ]
    if !certName.isEmpty { fields.append("\"CertName\": " + JSONValue.quote(certName)) }
    if !ipv4.isEmpty { fields.append("\"IPv4\": " + JSONValue.quote(ipv4)) }
    if !ipv6.isEmpty { fields.append("\"IPv6\": " + JSONValue.quote(ipv6)) }
    if stunPort != 0 { fields.append("\"STUNPort\": \(stunPort)") }
    if stunOnly { fields.append("\"STUNOnly\": true") }
    if derpPort != 0 { fields.append("\"DERPPort\": \(derpPort)") }
    if insecureForTests { fields.append("\"InsecureForTests\": true") }
    if !stunTestIP.isEmpty { fields.append("\"STUNTestIP\": " + JSONValue.quote(stunTestIP)) }
    if canPort80 { fields.append("\"CanPort80\": true") }
    return "{\n" + fields.map { inner + $0 }.joined(separator: ",\n") + "\n" + indent + "}"
  }
}

/// Why a DERP map document could not be read.
public struct DERPMapDecodingError: Error, Equatable, CustomStringConvertible {
  public let description: String
  init(_ description: String) { self.description = description }
}

extension DERPMap {
  /// Reads a tailcfg.DERPMap document, or a policy file's `{"derpMap": {...}}`.
  public static func decode(json bytes: [UInt8]) throws(DERPMapDecodingError) -> DERPMap {
    let document: JSONValue
    do { document = try JSONValue.parse(bytes) } catch { throw DERPMapDecodingError("not JSON: \(error)") }
    return try decode(document)
  }

  /// Reads a parsed document (JSON, or Headscale's YAML turned into the same values).
  static func decode(_ document: JSONValue) throws(DERPMapDecodingError) -> DERPMap {
    guard case .object(var fields) = document else { throw DERPMapDecodingError("the DERP map is not a JSON object") }
    if case .object(let inner)? = JSONValue.field(fields, "derpMap") { fields = inner }
    var map = DERPMap(regions: [:])
    map.omitDefaultRegions = try JSONReading.bool(fields, "omitDefaultRegions", at: "DERPMap")
    switch JSONValue.field(fields, "Regions") {
    case nil, .null?: break
    case .object(let entries)?:
      for (key, value) in entries {
        guard let id = Int(key) else { throw DERPMapDecodingError("Regions key \"\(key)\" is not an integer") }
        if case .null = value { continue }
        let region = try DERPRegion.decode(value, at: "Regions[\"\(key)\"]")
        map.regions[id] = region
      }
    default: throw DERPMapDecodingError("Regions must be an object keyed by region ID")
    }
    return map
  }
}

extension DERPRegion {
  static func decode(_ value: JSONValue, at path: String) throws(DERPMapDecodingError) -> DERPRegion {
    guard case .object(let fields) = value else { throw DERPMapDecodingError("\(path) is not an object") }
    var region = DERPRegion(
      regionID: try JSONReading.int(fields, "RegionID", at: path), regionCode: try JSONReading.string(fields, "RegionCode", at: path),
      regionName: try JSONReading.string(fields, "RegionName", at: path), nodes: [])
    region.latitude = try JSONReading.double(fields, "Latitude", at: path)
    region.longitude = try JSONReading.double(fields, "Longitude", at: path)
    region.avoid = try JSONReading.bool(fields, "Avoid", at: path)
    switch JSONValue.field(fields, "Nodes") {
    case nil, .null?: break
    case .array(let items)?:
      for (index, item) in items.enumerated() { region.nodes.append(try DERPNode.decode(item, at: "\(path).Nodes[\(index)]")) }
    default: throw DERPMapDecodingError("\(path).Nodes must be a list")
    }
    return region
  }
}

extension DERPNode {
  static func decode(_ value: JSONValue, at path: String) throws(DERPMapDecodingError) -> DERPNode {
    guard case .object(let f) = value else { throw DERPMapDecodingError("\(path) is not an object") }
    var node = DERPNode(
      name: try JSONReading.string(f, "Name", at: path), regionID: try JSONReading.int(f, "RegionID", at: path),
      hostName: try JSONReading.string(f, "HostName", at: path))
    node.certName = try JSONReading.string(f, "CertName", at: path)
    node.ipv4 = try JSONReading.string(f, "IPv4", at: path)
    node.ipv6 = try JSONReading.string(f, "IPv6", at: path)
    node.stunPort = try JSONReading.int(f, "STUNPort", at: path)
    node.stunOnly = try JSONReading.bool(f, "STUNOnly", at: path)
    node.derpPort = try JSONReading.int(f, "DERPPort", at: path)
    node.insecureForTests = try JSONReading.bool(f, "InsecureForTests", at: path)
    node.stunTestIP = try JSONReading.string(f, "STUNTestIP", at: path)
    node.canPort80 = try JSONReading.bool(f, "CanPort80", at: path)
    return node
  }
}

/// Typed field reads with Go's rules: absent or null is the zero value.
enum JSONReading {
  static func string(_ fields: [(String, JSONValue)], _ name: String, at path: String) throws(DERPMapDecodingError) -> String {
    switch JSONValue.field(fields, name) {
    case nil, .null?: return ""
    case .string(let text)?: return text
    default: throw DERPMapDecodingError("\(path).\(name) must be a string")
    }
  }

  static func int(_ fields: [(String, JSONValue)], _ name: String, at path: String) throws(DERPMapDecodingError) -> Int {
    switch JSONValue.field(fields, name) {
    case nil, .null?: return 0
    case .number(let text)?:
      guard let value = Int(text) else { throw DERPMapDecodingError("\(path).\(name) must be an integer, not \(text)") }
      return value
    default: throw DERPMapDecodingError("\(path).\(name) must be an integer")
    }
  }

  static func double(_ fields: [(String, JSONValue)], _ name: String, at path: String) throws(DERPMapDecodingError) -> Double {
    switch JSONValue.field(fields, name) {
    case nil, .null?: return 0
    case .number(let text)?:
      guard let value = Double(text) else { throw DERPMapDecodingError("\(path).\(name) must be a number") }
      return value
    default: throw DERPMapDecodingError("\(path).\(name) must be a number")
    }
  }

  static func bool(_ fields: [(String, JSONValue)], _ name: String, at path: String) throws(DERPMapDecodingError) -> Bool {
    switch JSONValue.field(fields, name) {
    case nil, .null?: return false
    case .bool(let value)?: return value
    default: throw DERPMapDecodingError("\(path).\(name) must be true or false")
    }
  }
}
