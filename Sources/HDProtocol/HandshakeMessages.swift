// JSON bodies of the ClientInfo and ServerInfo frames (spec §2.3, §2.4).
// Decoding follows Go's encoding/json: keys match case-insensitively and
// unknown keys are ignored. Encoding writes Go's field names and omits what
// Go's `omitempty` omits.

public struct HandshakeJSONError: Error, Equatable, CustomStringConvertible {
  public let reason: String
  public init(_ reason: String) { self.reason = reason }
  public var description: String { reason }
}

/// What a client says about itself in the ClientInfo frame.
public struct ClientInfo: Equatable, Sendable {
  /// Mesh secret; nil when absent (Go omits the zero key).
  public var meshKey: DERPKey?
  /// Protocol version the client speaks; 0 when absent.
  public var version: Int
  public var canAckPings: Bool
  public var isProber: Bool
  /// Opaque application name, stats only.
  public var appName: String

  public init(meshKey: DERPKey? = nil, version: Int = DERPConstants.protocolVersion, canAckPings: Bool = true,
              isProber: Bool = false, appName: String = "") {
    self.meshKey = meshKey
    self.version = version
    self.canAckPings = canAckPings
    self.isProber = isProber
    self.appName = appName
  }

  /// `{"meshKey":…,"version":2,"CanAckPings":true,"IsProber":true,"AppName":…}` in Go's field order.
  public func jsonBytes() -> [UInt8] {
    var parts: [String] = []
    if let meshKey, !meshKey.isZero { parts.append("\"meshKey\":\"" + meshKey.hex + "\"") }
    if version != 0 { parts.append("\"version\":" + String(version)) }
    parts.append("\"CanAckPings\":" + (canAckPings ? "true" : "false"))
    if isProber { parts.append("\"IsProber\":true") }
    if !appName.isEmpty { parts.append("\"AppName\":" + JSONValue.quote(appName)) }
    return Array(("{" + parts.joined(separator: ",") + "}").utf8)
  }

  public init(json: [UInt8]) throws(HandshakeJSONError) {
    let parsed: JSONValue
    do { parsed = try JSONValue.parse(json) } catch { throw HandshakeJSONError("ClientInfo: \(error)") }
    guard case .object(let fields) = parsed else { throw HandshakeJSONError("ClientInfo is not a JSON object") }
    self.init()
    version = 0
    canAckPings = false
    switch JSONValue.field(fields, "meshKey") {
    case nil, .null?: meshKey = nil
    case .string(let s)?:
      if s.isEmpty {
        meshKey = nil
      } else {
        guard let k = DERPKey(hex: s) else { throw HandshakeJSONError("ClientInfo: meshKey must be 64 hex characters") }
        meshKey = k.isZero ? nil : k
      }
    default: throw HandshakeJSONError("ClientInfo: meshKey must be a string")
    }
    version = try Self.int(JSONValue.field(fields, "version"), name: "version")
    canAckPings = try Self.bool(JSONValue.field(fields, "CanAckPings"), name: "CanAckPings")
    isProber = try Self.bool(JSONValue.field(fields, "IsProber"), name: "IsProber")
    switch JSONValue.field(fields, "AppName") {
    case nil, .null?: appName = ""
    case .string(let s)?: appName = s
    default: throw HandshakeJSONError("ClientInfo: AppName must be a string")
    }
  }

  static func bool(_ v: JSONValue?, name: String) throws(HandshakeJSONError) -> Bool {
    switch v {
    case nil, .null?: return false
    case .bool(let b)?: return b
    default: throw HandshakeJSONError("ClientInfo: \(name) must be a boolean")
    }
  }

  static func int(_ v: JSONValue?, name: String) throws(HandshakeJSONError) -> Int {
    switch v {
    case nil, .null?: return 0
    case .number(let text)?:
      guard let n = Int(text) else { throw HandshakeJSONError("\(name) must be an integer") }
      return n
    default: throw HandshakeJSONError("\(name) must be a number")
    }
  }
}

/// What the server tells a registered client in the ServerInfo frame.
public struct ServerInfo: Equatable, Sendable {
  public var version: Int
  /// Client-side send budget hint; 0 = none (derper never sets it).
  public var tokenBucketBytesPerSecond: Int
  public var tokenBucketBytesBurst: Int

  public init(version: Int = DERPConstants.protocolVersion, tokenBucketBytesPerSecond: Int = 0,
              tokenBucketBytesBurst: Int = 0) {
    self.version = version
    self.tokenBucketBytesPerSecond = tokenBucketBytesPerSecond
    self.tokenBucketBytesBurst = tokenBucketBytesBurst
  }

  /// `{"version":2}` plus the capitalised token bucket fields when non-zero.
  public func jsonBytes() -> [UInt8] {
    var text = "{\"version\":" + String(version)
    if tokenBucketBytesPerSecond != 0 { text += ",\"TokenBucketBytesPerSecond\":" + String(tokenBucketBytesPerSecond) }
    if tokenBucketBytesBurst != 0 { text += ",\"TokenBucketBytesBurst\":" + String(tokenBucketBytesBurst) }
    return Array((text + "}").utf8)
  }

  public init(json: [UInt8]) throws(HandshakeJSONError) {
    let parsed: JSONValue
    do { parsed = try JSONValue.parse(json) } catch { throw HandshakeJSONError("ServerInfo: \(error)") }
    guard case .object(let fields) = parsed else { throw HandshakeJSONError("ServerInfo is not a JSON object") }
    version = try ClientInfo.int(JSONValue.field(fields, "version"), name: "version")
    tokenBucketBytesPerSecond = try ClientInfo.int(JSONValue.field(fields, "TokenBucketBytesPerSecond"),
                                                   name: "TokenBucketBytesPerSecond")
    tokenBucketBytesBurst = try ClientInfo.int(JSONValue.field(fields, "TokenBucketBytesBurst"),
                                               name: "TokenBucketBytesBurst")
  }
}
