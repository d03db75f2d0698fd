// Byte-exact HTTP responses the relay sends before (or instead of) DERP.

public enum HTTPResponses {
  /// The 101 of spec §1.2, byte for byte as derper writes it.
  public static func switchingProtocols(serverKey: DERPKey) -> [UInt8] {
    Array(("HTTP/1.1 101 Switching Protocols\r\n"
      + "Upgrade: DERP\r\n"
      + "Connection: Upgrade\r\n"
      + "Derp-Version: \(DERPConstants.protocolVersion)\r\n"
      + "Derp-Public-Key: \(serverKey.hex)\r\n"
      + "\r\n").utf8)
  }

  /// 426 for `/derp` without an acceptable Upgrade header (body as Go's http.Error writes it).
  public static let upgradeRequired = plain(status: "426 Upgrade Required", body: "DERP requires connection upgrade\n")

  public static let notFound = plain(status: "404 Not Found", body: "not found\n")

  public static let methodNotAllowed = plain(status: "405 Method Not Allowed", body: "method not allowed\n")

  /// DERP over real WebSocket (browser clients) is not implemented; say so clearly.
  public static let webSocketNotSupported = plain(status: "501 Not Implemented",
                                                  body: "DERP over WebSocket is not supported by this server\n")

  /// `/derp/probe`, `/derp/latency-check`: 200, empty body, CORS open for
  /// browser latency checks.
  public static let probeOK = Array(("HTTP/1.1 200 OK\r\n"
    + "Access-Control-Allow-Origin: *\r\n"
    + "Content-Length: 0\r\n"
    + "Connection: close\r\n"
    + "\r\n").utf8)

  static let noCache = "no-cache, no-store, must-revalidate, no-transform, max-age=0"

  /// `/generate_204`, echoing a valid captive-portal challenge.
  public static func noContent(challenge: String?) -> [UInt8] {
    var text = "HTTP/1.1 204 No Content\r\nCache-Control: \(noCache)\r\n"
    if let challenge, isValidChallenge(challenge) { text += "X-Tailscale-Response: response \(challenge)\r\n" }
    return Array((text + "Connection: close\r\n\r\n").utf8)
  }

  /// derper echoes the challenge only if it is ≤ 64 chars of [A-Za-z0-9._:-].
  public static func isValidChallenge(_ challenge: String) -> Bool {
    guard challenge.utf8.count <= 64 else { return false }
    return challenge.utf8.allSatisfy { c in
      switch c {
      case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"),
        UInt8(ascii: "-"):
        return true
      default: return false
      }
    }
  }

  /// 400 for a request head the parser rejected.
  public static let badRequest = plain(status: "400 Bad Request", body: "bad request\n")

  /// 431 for a head over the parser's limit.
  public static let headTooLarge = plain(status: "431 Request Header Fields Too Large", body: "request head too large\n")

  static func plain(status: String, body: String) -> [UInt8] {
    Array(("HTTP/1.1 \(status)\r\n"
      + "Content-Type: text/plain; charset=utf-8\r\n"
      + "Content-Length: \(body.utf8.count)\r\n"
      + "Connection: close\r\n"
      + "\r\n" + body).utf8)
  }

  /// Same response without its body (for HEAD requests).
  static func headOnly(_ response: [UInt8]) -> [UInt8] {
    guard let end = response.indices.first(where: { i in
      i + 3 < response.count && response[i] == 13 && response[i + 1] == 10 && response[i + 2] == 13 && response[i + 3] == 10
    }) else { return response }
    return Array(response[..<(end + 4)])
  }
}
