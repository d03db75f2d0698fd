// What the metrics server needs to know about one parsed HTTP/1.x request head.
// Bodies are never read: the metrics endpoints take none (see `hasBody`).

/// The request line and the few headers the metrics server acts on.
package struct HTTPRequestHead: Equatable {
  /// Method token exactly as sent (methods are case-sensitive, RFC 9110 §9.1).
  package var method: String
  /// The path of an origin-form target, without the query string.
  package var path: String
  /// 0 for HTTP/1.0, 1 for HTTP/1.1.
  package var minorVersion: Int
  /// Whether the connection may carry another request after this one.
  package var keepAlive: Bool
  /// The request announces a body (Content-Length > 0 or Transfer-Encoding).
  /// We don't read bodies, so such a connection is closed after the response.
  package var hasBody: Bool
}

/// Why a request head was rejected; each maps to one status code.
package enum HTTPRequestError: Error, Equatable {
  /// Syntax error in the request line or a header: 400.
  case malformed(String)
  /// The head does not fit in the size or header-count limit: 431.
  case headTooLarge
  /// A version other than HTTP/1.0 or 1.1: 505.
  case versionNotSupported

  var status: HTTPStatus {
    switch self {
    case .malformed: return .badRequest
    case .headTooLarge: return .requestHeaderFieldsTooLarge
    case .versionNotSupported: return .httpVersionNotSupported
    }
  }
}
