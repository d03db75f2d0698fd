// An http:// or https:// URL split into the parts an HTTP/1.1 client needs
// (verify_clients.url). Deliberately small: no user info, no fragments; the
// host is a name, an IPv4 literal or a bracketed IPv6 literal.

public struct HTTPURL: Sendable, Equatable {
  public var isHTTPS: Bool
  /// Host name or IP literal, without IPv6 brackets.
  public var host: String
  public var port: Int
  /// Path and query, starting with "/".
  public var pathAndQuery: String

  public init(isHTTPS: Bool, host: String, port: Int, pathAndQuery: String) {
    self.isHTTPS = isHTTPS
    self.host = host
    self.port = port
    self.pathAndQuery = pathAndQuery
  }

  /// The `Host:` header value (brackets for IPv6, port when not the scheme's default).
  public var hostHeader: String {
    let name = host.contains(":") ? "[\(host)]" : host
    return port == (isHTTPS ? 443 : 80) ? name : "\(name):\(port)"
  }

  /// Parses `text`; the error says what is wrong in words fit for a diagnostic.
  public static func parse(_ text: String) -> Result<HTTPURL, HTTPURLError> {
    let isHTTPS: Bool
    if text.hasPrefix("http://") { isHTTPS = false } else if text.hasPrefix("https://") { isHTTPS = true } else {
      return .failure(HTTPURLError("'\(text)' is not an http:// or https:// URL"))
    }
    if text.contains(where: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }) {
      return .failure(HTTPURLError("'\(text)' contains whitespace"))
    }
    let rest = text.dropFirst(isHTTPS ? 8 : 7)
    let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
    var pathAndQuery = String(rest.dropFirst(authority.count).prefix { $0 != "#" })
    if pathAndQuery.isEmpty { pathAndQuery = "/" }
    if pathAndQuery.hasPrefix("?") { pathAndQuery = "/" + pathAndQuery }
    if authority.contains("@") { return .failure(HTTPURLError("'\(text)': user info in URLs is not supported")) }
    var host = authority
    var portText: Substring? = nil
    if host.hasPrefix("[") {
      guard let close = host.firstIndex(of: "]") else { return .failure(HTTPURLError("'\(text)': unclosed '[' in host")) }
      let after = host[host.index(after: close)...]
      host = host[host.index(after: host.startIndex)..<close]
      if !after.isEmpty {
        guard after.hasPrefix(":") else { return .failure(HTTPURLError("'\(text)': junk after ']' in host")) }
        portText = after.dropFirst()
      }
    } else if let colon = host.firstIndex(of: ":") {
      portText = host[host.index(after: colon)...]
      host = host[..<colon]
    }
    guard !host.isEmpty else { return .failure(HTTPURLError("'\(text)' has no host")) }
    var port = isHTTPS ? 443 : 80
    if let p = portText {
      guard let n = Int(p), n >= 1, n <= 65535, p.allSatisfy(\.isASCII) else {
        return .failure(HTTPURLError("'\(text)': port '\(p)' is not a number in 1–65535"))
      }
      port = n
    }
    return .success(HTTPURL(isHTTPS: isHTTPS, host: String(host), port: port, pathAndQuery: pathAndQuery))
  }
}

public struct HTTPURLError: Error, Sendable, CustomStringConvertible {
  public let description: String
  init(_ description: String) { self.description = description }
}
