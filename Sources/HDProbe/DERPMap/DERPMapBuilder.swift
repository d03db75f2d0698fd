// Builds one DERP region from the relays of a mesh: each node's DERP port,
// STUN port and certificate come from its config file (or, without one, from
// the built-in defaults), overridden by what the operator states on the
// command line; host names and public addresses only the operator knows.
// Refuses what a Tailscale client would reject or silently misuse.
@preconcurrency import Glibc
import HDConfig
import HDProtocol
import HDTLS

/// One relay of the region, as given on the command line:
/// `HOST[,config=PATH][,ipv4=ADDR][,ipv6=ADDR][,name=NAME][,derp-port=N][,stun-port=N][,cert=PATH]`.
public struct DERPNodeSpec: Sendable, Equatable {
  public var hostName: String
  public var configPath: String?
  public var ipv4: String?
  public var ipv6: String?
  public var name: String?
  public var derpPort: Int?
  /// 0 = STUN off on this node.
  public var stunPort: Int?
  public var certificatePath: String?

  public init(hostName: String) { self.hostName = hostName }

  public static let attributes = ["config", "ipv4", "ipv6", "name", "derp-port", "stun-port", "cert"]

  public static func parse(_ text: String) -> Result<DERPNodeSpec, DERPMapBuildError> {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    var spec = DERPNodeSpec(hostName: parts[0])
    for part in parts.dropFirst() {
      guard let equals = part.firstIndex(of: "=") else {
        return .failure(DERPMapBuildError("--node \(text): '\(part)' is not KEY=VALUE (keys: \(attributes.joined(separator: ", ")))"))
      }
      let key = String(part[..<equals])
      let value = String(part[part.index(after: equals)...])
      func port(_ allowZero: Bool) -> Int? {
        guard let n = Int(value), n >= (allowZero ? 0 : 1), n <= 65535 else { return nil }
        return n
      }
      switch key {
      case "config": spec.configPath = value
      case "ipv4": spec.ipv4 = value
      case "ipv6": spec.ipv6 = value
      case "name": spec.name = value
      case "cert": spec.certificatePath = value
      case "derp-port":
        guard let n = port(false) else { return .failure(DERPMapBuildError("--node \(text): derp-port must be 1-65535")) }
        spec.derpPort = n
      case "stun-port":
        guard let n = port(true) else { return .failure(DERPMapBuildError("--node \(text): stun-port must be 0-65535 (0 = off)")) }
        spec.stunPort = n
      default:
        var message = "--node \(text): unknown key '\(key)' (keys: \(attributes.joined(separator: ", ")))"
        if let near = Suggestions.closest(to: key, among: attributes) { message += "; did you mean '\(near)'?" }
        return .failure(DERPMapBuildError(message))
      }
    }
    return .success(spec)
  }
}

public struct DERPMapRequest: Sendable {
  public var regionID: Int
  public var regionCode: String
  public var regionName: String
  public var nodes: [DERPNodeSpec]
  public var omitDefaultRegions = false
  /// Allows plain-TCP nodes (clients then skip TLS verification): test tailnets only.
  public var insecureForTests = false

  public init(regionID: Int, regionCode: String, regionName: String, nodes: [DERPNodeSpec]) {
    self.regionID = regionID
    self.regionCode = regionCode
    self.regionName = regionName
    self.nodes = nodes
  }
}

public struct DERPMapBuildError: Error, Equatable, CustomStringConvertible {
  public let description: String
  public init(_ description: String) { self.description = description }
}

/// A map with warnings that do not make it wrong, or every problem found.
public enum DERPMapBuildResult: Sendable {
  case built(DERPMap, warnings: [String])
  case refused([DERPMapBuildError])
}

public enum DERPMapBuilder {
  /// The map, plus warnings that do not make it wrong (e.g. a mesh whose
  /// peer lists do not match the node count); or every problem found.
  public static func build(_ request: DERPMapRequest) -> DERPMapBuildResult {
    var problems: [DERPMapBuildError] = []
    var warnings: [String] = []
    if request.regionID < 1 || request.regionID > 9_007_199_254_740_991 {
      problems.append(DERPMapBuildError("--region-id must be a positive integer (900-999 are kept for self-hosted relays)"))
    }
    if request.regionCode.isEmpty { problems.append(DERPMapBuildError("--region-code must not be empty (e.g. fra, nyc)")) }
    if request.nodes.isEmpty { problems.append(DERPMapBuildError("no relays: give one --node per relay of the region")) }
    var nodes: [DERPNode] = []
    for (index, spec) in request.nodes.enumerated() {
      let built = node(spec, index: index, request: request)
      if let node = built.node { nodes.append(node) }
      warnings += built.warnings
      problems += built.problems
    }
    var seen: [String: Int] = [:]
    for (index, node) in nodes.enumerated() {
      if let first = seen[node.name] {
        problems.append(DERPMapBuildError(
          "nodes \(first + 1) and \(index + 1) are both named \"\(node.name)\"; node names must be unique across the map (give name=...)"))
      } else {
        seen[node.name] = index
      }
    }
    guard problems.isEmpty else { return .refused(problems) }
    let region = DERPRegion(
      regionID: request.regionID, regionCode: request.regionCode,
      regionName: request.regionName.isEmpty ? request.regionCode : request.regionName, nodes: nodes)
    return .built(DERPMap(regions: [request.regionID: region], omitDefaultRegions: request.omitDefaultRegions), warnings: warnings)
  }

  /// "a", "b", … "z", "aa": Tailscale's node naming (region ID + suffix).
  static func suffix(_ index: Int) -> String {
    let letters = Array("abcdefghijklmnopqrstuvwxyz")
    return index < 26 ? String(letters[index]) : suffix(index / 26 - 1) + String(letters[index % 26])
  }

  private static func node(_ spec: DERPNodeSpec, index: Int, request: DERPMapRequest)
    -> (node: DERPNode?, warnings: [String], problems: [DERPMapBuildError])
  {
    let label = "node \(index + 1) (\(spec.hostName.isEmpty ? "no host name" : spec.hostName))"
    var problems: [DERPMapBuildError] = []
    var warnings: [String] = []
    var config = Config()
    if let path = spec.configPath {
      let options = ConfigCheckOptions(checkReferencedFiles: false, checkHost: false, checkImplemented: false)
      let result = ConfigLoader.check(path: path, options: options)
      let errors = result.diagnostics.filter(\.isError)
      guard errors.isEmpty else {
        return (nil, [], errors.map { DERPMapBuildError("\(label): " + DiagnosticRenderer.human($0).trimmingSuffixNewline) })
      }
      config = result.config
      if !config.mesh.peers.isEmpty, config.mesh.peers.count + 1 != request.nodes.count {
        warnings.append(
          "\(label): \(path) lists \(config.mesh.peers.count) mesh peers, so its region has \(config.mesh.peers.count + 1) relays, but the map gets \(request.nodes.count)")
      }
    }
    let host = spec.hostName
    if host.isEmpty {
      problems.append(DERPMapBuildError("\(label): a host name is required (clients dial it and send it as the TLS server name)"))
    } else if host.contains("/") || host.contains(" ") || host.contains(":") && !isIPv6(host) {
      problems.append(DERPMapBuildError("\(label): '\(host)' is not a host name: give the bare name (no scheme, path or port; use derp-port=N)"))
    }
    var node = DERPNode(name: spec.name ?? "\(request.regionID)\(suffix(index))", regionID: request.regionID, hostName: host)
    if let ipv4 = spec.ipv4 {
      if ipv4 != "none" && !isIPv4(ipv4) { problems.append(DERPMapBuildError("\(label): ipv4=\(ipv4) is not an IPv4 address (or \"none\")")) }
      node.ipv4 = ipv4
    }
    if let ipv6 = spec.ipv6 {
      if ipv6 != "none" && !isIPv6(ipv6) { problems.append(DERPMapBuildError("\(label): ipv6=\(ipv6) is not an IPv6 address (or \"none\")")) }
      node.ipv6 = ipv6
    }
    let derpPort = spec.derpPort ?? config.port
    node.derpPort = derpPort == 443 ? 0 : derpPort
    let stunPort = spec.stunPort ?? config.stunPort
    node.stunPort = stunPort == 0 ? -1 : (stunPort == 3478 ? 0 : stunPort)

    let certificatePath = spec.certificatePath ?? (config.tlsEnabled ? config.tlsCert : nil)
    if let certificatePath {
      do {
        let leaf = try CertificateFileReport.read(certificatePath: certificatePath, keyPath: nil).leaf
        if leaf.selfSigned { node.certName = leaf.pin.certName }
      } catch {
        problems.append(DERPMapBuildError("\(label): \(error)"))
      }
    } else if request.insecureForTests {
      node.insecureForTests = true
    } else {
      let origin = spec.configPath.map { "\($0) sets no tls_cert/tls_key" } ?? "no config=PATH or cert=PATH given"
      problems.append(DERPMapBuildError(
        "\(label): the DERP port \(derpPort) is plain TCP (\(origin)); Tailscale clients reach DERP nodes only over TLS. "
          + "Set tls_cert and tls_key in the relay's config, or pass --insecure-for-tests for a test tailnet"))
    }
    return (problems.isEmpty ? node : nil, warnings, problems)
  }

  static func isIPv4(_ text: String) -> Bool {
    var address = in_addr()
    return inet_pton(AF_INET, text, &address) == 1
  }

  static func isIPv6(_ text: String) -> Bool {
    var address = in6_addr()
    return inet_pton(AF_INET6, text, &address) == 1
  }
}

extension String {
  var trimmingSuffixNewline: String { hasSuffix("\n") ? String(dropLast()) : self }
}
