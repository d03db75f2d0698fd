// What a certificate is for: a DNS name (RFC 8555) or an IP address (RFC 8738).
@preconcurrency import Glibc

public struct ACMEIdentifier: Sendable, Hashable, CustomStringConvertible {
  public let isIP: Bool
  /// The name (lower case) or the IP literal in canonical form.
  public let value: String

  public static func dns(_ name: String) -> ACMEIdentifier { ACMEIdentifier(isIP: false, value: name.lowercased()) }
  public static func ip(_ literal: String) -> ACMEIdentifier { ACMEIdentifier(isIP: true, value: canonicalIP(literal)) }

  /// RFC 8555 identifier type.
  public var type: String { isIP ? "ip" : "dns" }
  public var description: String { value }

  /// The TLS SNI a TLS-ALPN-01 validator sends: the name itself, or for an IP
  /// the reverse-DNS name (RFC 8738 §6: "4.3.2.1.in-addr.arpa", nibbles for IPv6).
  public var serverName: String {
    guard isIP else { return value }
    var v4 = in_addr()
    if inet_pton(AF_INET, value, &v4) == 1 {
      let bytes = withUnsafeBytes(of: v4) { Array($0) }
      return bytes.reversed().map(String.init).joined(separator: ".") + ".in-addr.arpa"
    }
    var v6 = in6_addr()
    if inet_pton(AF_INET6, value, &v6) == 1 {
      let bytes = withUnsafeBytes(of: v6) { Array($0) }
      let nibbles = bytes.flatMap { [$0 >> 4, $0 & 0xF] }.reversed().map { String($0, radix: 16) }
      return nibbles.joined(separator: ".") + ".ip6.arpa"
    }
    return value
  }

  /// inet_ntop's form, so "::0001" and "::1" are one identifier.
  static func canonicalIP(_ literal: String) -> String {
    var v4 = in_addr()
    var v6 = in6_addr()
    var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
    if inet_pton(AF_INET, literal, &v4) == 1, inet_ntop(AF_INET, &v4, &buffer, socklen_t(buffer.count)) != nil {
      return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    if inet_pton(AF_INET6, literal, &v6) == 1, inet_ntop(AF_INET6, &v6, &buffer, socklen_t(buffer.count)) != nil {
      return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    return literal
  }
}
