// One entry of mesh.peers: `host`, `host:port`, `[v6]:port` (https, port 443
// by default, as derper's -mesh-with) or an http(s):// URL. The DERP path is
// always /derp.
import HDConfig

struct MeshEndpoint: Sendable, Equatable {
  var host: String
  var port: UInt16
  var tls: Bool
  /// As configured, for logs.
  var text: String

  static func parse(_ text: String) -> MeshEndpoint? {
    let url = text.hasPrefix("http://") || text.hasPrefix("https://") ? text : "https://" + text
    guard case .success(let parsed) = HTTPURL.parse(url), let port = UInt16(exactly: parsed.port), port > 0 else {
      return nil
    }
    return MeshEndpoint(host: parsed.host, port: port, tls: parsed.isHTTPS, text: text)
  }
}
