// The relay's HTTP routing rules in one place (spec §1.2–1.4): which request
// becomes a DERP connection, and the exact bytes to answer everything else.

/// What the relay should do with a parsed request.
public struct HTTPRoute: Equatable, Sendable {
  /// Bytes to write first (the 101, or a complete error/probe response);
  /// empty for a fast-start upgrade, which skips the 101.
  public var response: [UInt8]
  /// True: switch to DERP after `response` (send ServerKey next).
  public var upgrade: Bool
  /// True: the client sent `Derp-Fast-Start: 1`; no 101 is written and its
  /// ClientInfo may already sit behind the request head.
  public var fastStart: Bool

  public init(response: [UInt8], upgrade: Bool, fastStart: Bool) {
    self.response = response
    self.upgrade = upgrade
    self.fastStart = fastStart
  }

  /// Non-upgrade responses close the connection after writing.
  public var closeAfterResponse: Bool { !upgrade }
}

public enum HTTPRouter {
  public static let derpPath = "/derp"

  public static func route(_ request: HTTPRequest, serverKey: DERPKey) -> HTTPRoute {
    switch request.path {
    case derpPath:
      return routeDERP(request, serverKey: serverKey)
    case "/derp/probe", "/derp/latency-check":
      switch request.method {
      case "GET": return HTTPRoute(response: HTTPResponses.probeOK, upgrade: false, fastStart: false)
      case "HEAD": return HTTPRoute(response: HTTPResponses.probeOK, upgrade: false, fastStart: false)
      default: return reply(HTTPResponses.methodNotAllowed, request)
      }
    case "/generate_204":
      return HTTPRoute(response: HTTPResponses.noContent(challenge: request.header("X-Tailscale-Challenge")),
                       upgrade: false, fastStart: false)
    default:
      return reply(HTTPResponses.notFound, request)
    }
  }

  /// Response for a request head the parser rejected.
  public static func rejection(_ error: HTTPParseError) -> [UInt8] {
    if case .headTooLarge = error { return HTTPResponses.headTooLarge }
    return HTTPResponses.badRequest
  }

  /// derper checks only the Upgrade header on the exact path /derp (method and
  /// Connection are not checked); `websocket` without the `derp` subprotocol is
  /// raw DERP (old and third-party clients).
  static func routeDERP(_ request: HTTPRequest, serverKey: DERPKey) -> HTTPRoute {
    let upgrade = request.header("Upgrade")?.lowercased()
    guard upgrade == "derp" || upgrade == "websocket" else { return reply(HTTPResponses.upgradeRequired, request) }
    if upgrade == "websocket",
      let protocols = request.header("Sec-WebSocket-Protocol"),
      protocols.split(separator: ",").contains(where: { $0.trimmingASCIIWhitespace().lowercased() == "derp" })
    {
      return reply(HTTPResponses.webSocketNotSupported, request)
    }
    if request.header("Derp-Fast-Start") == "1" {
      return HTTPRoute(response: [], upgrade: true, fastStart: true)
    }
    return HTTPRoute(response: HTTPResponses.switchingProtocols(serverKey: serverKey), upgrade: true, fastStart: false)
  }

  static func reply(_ response: [UInt8], _ request: HTTPRequest) -> HTTPRoute {
    HTTPRoute(response: request.method == "HEAD" ? HTTPResponses.headOnly(response) : response,
              upgrade: false, fastStart: false)
  }
}
