// The relays of the region under test, as the driver reaches them: the DERP
// address of each (TLS, certificate checked against the test's CA and the
// relay's IP) and its metrics address, whose /debug/mesh says which keys the
// relay has learned through each of its mesh links.
@preconcurrency import Glibc
import Foundation
import HDClient
import HDProtocol
import HDTLS

struct RelayAddress {
  var host: String
  var port: UInt16
  var metricsPort: UInt16
}

struct Region {
  let relays: [RelayAddress]
  let caFile: String

  /// A DERP client of relay `index` over TLS, verified like a real client.
  func connect(_ index: Int, keys: DERPKeyPair = .generate()) throws -> DERPClient {
    var options = DERPClientOptions()
    options.connectTimeoutSeconds = 5
    options.handshakeTimeoutSeconds = 10
    options.readTimeoutSeconds = 10
    let relay = relays[index]
    return try DERPClient.connectTLS(
      host: relay.host, port: relay.port, keys: keys, options: options,
      tls: TLSClientOptions(trustedCertificatesFile: caFile, verifyPeerName: relay.host))
  }

  /// Whether relay `index` has learned `key` through its link to relay `via`.
  func knows(_ index: Int, _ key: DERPKey, via: Int) -> Bool {
    guard let mesh = debugMesh(index), let links = mesh["links"] as? [[String: Any]] else { return false }
    let peer = relays[via]
    for link in links {
      guard let name = link["peer"] as? String, name.contains("\(peer.host):\(peer.port)") else { continue }
      return (link["keys"] as? [String])?.contains(key.hex) ?? false
    }
    return false
  }

  /// /debug/mesh of relay `index`, or nil when it cannot be fetched.
  func debugMesh(_ index: Int) -> [String: Any]? {
    guard let body = httpGet(host: relays[index].host, port: relays[index].metricsPort, path: "/debug/mesh") else {
      return nil
    }
    return (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
  }

  /// A plain HTTP/1.1 GET with Connection: close; the body, or nil.
  private func httpGet(host: String, port: UInt16, path: String) -> [UInt8]? {
    guard let fd = try? TCPConnector.connect(host: host, port: port, timeoutSeconds: 3) else { return nil }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let request = Array("GET \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n".utf8)
    guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
      return nil
    }
    var response: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
      let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      if n <= 0 { break }
      response += chunk[0..<n]
    }
    let separator: [UInt8] = [13, 10, 13, 10]
    guard let end = (0..<max(0, response.count - 3)).first(where: { Array(response[$0..<$0 + 4]) == separator }),
      response.starts(with: Array("HTTP/1.1 200".utf8))
    else { return nil }
    return Array(response[(end + 4)...])
  }

  /// Polls `condition` every 100 ms for up to `seconds`.
  static func wait(seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
      if condition() { return true }
      usleep(100_000)
    }
    return condition()
  }
}
