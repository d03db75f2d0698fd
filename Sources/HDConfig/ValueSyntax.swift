// Strict spellings of scalar values, shared by the YAML loader and CLI flags.

import Glibc

enum ValueSyntax {
  enum IntegerResult: Equatable {
    case value(Int64)
    case malformed(String)
    case overflow
  }

  /// A whole decimal number: optional '-', digits, no leading zeros, nothing else.
  /// Rejects what YAML 1.1 would reinterpret (0755 octal, 1_000, 0x1F, 1:30).
  static func integer(_ text: String) -> IntegerResult {
    var digits = Substring(text)
    let negative = digits.hasPrefix("-")
    if negative { digits = digits.dropFirst() }
    guard !digits.isEmpty else { return .malformed("'\(text)' is not a whole decimal number") }
    guard digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
      return .malformed("'\(text)' is not a whole decimal number")
    }
    if digits.count > 1, digits.hasPrefix("0") {
      return .malformed("'\(text)' has a leading zero (YAML 1.1 would read it as octal); write it without")
    }
    guard let magnitude = Int64(digits) else { return .overflow }
    return .value(negative ? -magnitude : magnitude)
  }

  static let trueSpellings: Set<String> = ["true", "True", "TRUE"]
  static let falseSpellings: Set<String> = ["false", "False", "FALSE"]
  static let compatibleTrue: Set<String> = ["yes", "Yes", "YES", "on", "On", "ON", "y", "Y"]
  static let compatibleFalse: Set<String> = ["no", "No", "NO", "off", "Off", "OFF", "n", "N"]

  /// `(value, compatibilitySpelling)`: the second is true for yes/no/on/off.
  static func boolean(_ text: String) -> (Bool, Bool)? {
    if trueSpellings.contains(text) { return (true, false) }
    if falseSpellings.contains(text) { return (false, false) }
    if compatibleTrue.contains(text) { return (true, true) }
    if compatibleFalse.contains(text) { return (false, true) }
    return nil
  }

  /// An IPv4 or IPv6 literal as inet_pton understands it (no brackets, no zone).
  static func isIPAddress(_ text: String) -> Bool {
    var buffer = [UInt8](repeating: 0, count: 16)
    if text.contains(":") { return inet_pton(AF_INET6, text, &buffer) == 1 }
    return inet_pton(AF_INET, text, &buffer) == 1
  }

  /// http:// or https:// followed by a non-empty host.
  static func isHTTPURL(_ text: String) -> Bool {
    for scheme in ["http://", "https://"] where text.hasPrefix(scheme) {
      let rest = text.dropFirst(scheme.count)
      let host = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
      return !host.isEmpty && !text.contains(where: { $0 == " " || $0 == "\t" })
    }
    return false
  }

  /// `host`, `host:port`, `[v6]:port`, or an http(s) URL.
  static func isHostPort(_ text: String) -> Bool {
    if text.hasPrefix("http://") || text.hasPrefix("https://") { return isHTTPURL(text) }
    var host = Substring(text)
    var port: Substring?
    if host.hasPrefix("[") {
      guard let close = host.firstIndex(of: "]") else { return false }
      let inner = host[host.index(after: host.startIndex)..<close]
      let after = host[host.index(after: close)...]
      guard isIPAddress(String(inner)) else { return false }
      if after.isEmpty { return true }
      guard after.hasPrefix(":") else { return false }
      port = after.dropFirst()
      host = inner
    } else if let colon = host.lastIndex(of: ":") {
      if host.filter({ $0 == ":" }).count > 1 { return isIPAddress(text) }  // bare IPv6
      port = host[host.index(after: colon)...]
      host = host[..<colon]
    }
    if let port {
      guard case .value(let number) = integer(String(port)), (1...65535).contains(number) else { return false }
    }
    let allowed = host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == ":") }
    return !host.isEmpty && allowed
  }

  /// A fully qualified DNS name a public CA can issue for: 2+ labels of
  /// letters, digits and inner hyphens (1–63 bytes each), 253 bytes at most,
  /// an alphabetic last label, no trailing dot, no wildcard (TLS-ALPN-01 and
  /// HTTP-01 cannot validate one).
  static func isDomainName(_ text: String) -> Bool {
    guard !text.isEmpty, text.utf8.count <= 253, !text.hasSuffix(".") else { return false }
    let labels = text.split(separator: ".", omittingEmptySubsequences: false)
    guard labels.count >= 2 else { return false }
    for label in labels {
      guard (1...63).contains(label.utf8.count), label.first != "-", label.last != "-",
        label.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") })
      else { return false }
    }
    return labels.last!.allSatisfy { $0.isLetter } || labels.last!.hasPrefix("xn--")
  }
}
