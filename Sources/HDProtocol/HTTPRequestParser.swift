// Incremental, bounded parser for the HTTP/1.x request head that opens every
// DERP connection. The caller accumulates bytes in its own buffer and calls
// `parse` with everything received so far; the parser remembers how far it has
// scanned, so repeated calls cost O(new bytes). Bytes after the head (fast-start
// ClientInfo!) are not touched: `headBytes` tells where the DERP stream begins.

public struct HTTPRequest: Equatable, Sendable {
  public var method: String
  /// Request target as sent (`/derp`, `/generate_204?x=1`).
  public var target: String
  /// Target without the query string.
  public var path: String
  public var version: String
  /// Header fields in arrival order, names as sent.
  public var headers: [(name: String, value: String)]
  /// Length of the request head including the blank line; DERP data starts here.
  public var headBytes: Int

  /// Value of the first header called `name`, compared case-insensitively.
  public func header(_ name: String) -> String? {
    let wanted = name.lowercased()
    return headers.first(where: { $0.name.lowercased() == wanted })?.value
  }

  public static func == (lhs: HTTPRequest, rhs: HTTPRequest) -> Bool {
    lhs.method == rhs.method && lhs.target == rhs.target && lhs.version == rhs.version
      && lhs.headBytes == rhs.headBytes && lhs.headers.count == rhs.headers.count
      && zip(lhs.headers, rhs.headers).allSatisfy { $0.name == $1.name && $0.value == $1.value }
  }
}

public enum HTTPParseError: Error, Equatable, Sendable, CustomStringConvertible {
  case headTooLarge(limitBytes: Int)
  case malformedRequestLine
  case malformedHeader
  case unsupportedVersion

  public var description: String {
    switch self {
    case .headTooLarge(let limit): return "HTTP request head exceeds \(limit) bytes"
    case .malformedRequestLine: return "malformed HTTP request line"
    case .malformedHeader: return "malformed HTTP header line"
    case .unsupportedVersion: return "unsupported HTTP version"
    }
  }
}

public enum HTTPParseResult: Equatable, Sendable {
  case needMore
  case request(HTTPRequest)
  case failed(HTTPParseError)
}

public struct HTTPRequestParser: Sendable {
  /// Default head limit: far above any real DERP client (~150 bytes) and small
  /// enough that a slow-loris client costs little.
  public static let defaultMaxHeadBytes = 8192

  public let maxHeadBytes: Int
  /// Bytes already searched for the end of the head.
  private var scannedBytes = 0

  public init(maxHeadBytes: Int = HTTPRequestParser.defaultMaxHeadBytes) {
    self.maxHeadBytes = maxHeadBytes
  }

  /// Parses the bytes received so far (always from the connection's first byte).
  public mutating func parse(_ buffer: UnsafeRawBufferPointer) -> HTTPParseResult {
    guard let headEnd = findHeadEnd(buffer) else {
      if buffer.count >= maxHeadBytes { return .failed(.headTooLarge(limitBytes: maxHeadBytes)) }
      return .needMore
    }
    guard headEnd <= maxHeadBytes else { return .failed(.headTooLarge(limitBytes: maxHeadBytes)) }
    return Self.parseHead(UnsafeRawBufferPointer(rebasing: buffer[0..<headEnd]))
  }

  /// Convenience for arrays (tests, clients).
  public mutating func parse(_ bytes: [UInt8]) -> HTTPParseResult {
    bytes.withUnsafeBytes { parse($0) }
  }

  /// Index just past the blank line (CRLF CRLF, or bare LF LF as Go accepts), or nil.
  private mutating func findHeadEnd(_ buffer: UnsafeRawBufferPointer) -> Int? {
    var i = max(0, scannedBytes - 3)
    let limit = min(buffer.count, maxHeadBytes + 1)
    while i < limit {
      if buffer[i] == 0x0a {
        if i + 1 < buffer.count, buffer[i + 1] == 0x0a { return i + 2 }
        if i + 2 < buffer.count, buffer[i + 1] == 0x0d, buffer[i + 2] == 0x0a { return i + 3 }
      }
      i += 1
    }
    scannedBytes = limit
    return nil
  }

  static func parseHead(_ head: UnsafeRawBufferPointer) -> HTTPParseResult {
    // Split on bytes, not Characters: Swift treats "\r\n" as one Character.
    var lines: [Substring] = []
    var lineStart = 0
    for i in 0..<head.count where head[i] == 0x0a {
      var end = i
      if end > lineStart, head[end - 1] == 0x0d { end -= 1 }
      lines.append(Substring(String(decoding: UnsafeRawBufferPointer(rebasing: head[lineStart..<end]), as: UTF8.self)))
      lineStart = i + 1
    }
    // The head ends with an empty line.
    while let last = lines.last, last.isEmpty { lines.removeLast() }
    guard let requestLine = lines.first else { return .failed(.malformedRequestLine) }
    let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
    guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty,
      parts[0].utf8.allSatisfy({ isTokenByte($0) })
    else { return .failed(.malformedRequestLine) }
    guard parts[2] == "HTTP/1.1" || parts[2] == "HTTP/1.0" else { return .failed(.unsupportedVersion) }
    let target = String(parts[1])
    let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? target

    var headers: [(name: String, value: String)] = []
    for line in lines.dropFirst() {
      guard let colon = line.firstIndex(of: ":") else { return .failed(.malformedHeader) }
      let name = line[line.startIndex..<colon]
      guard !name.isEmpty, name.utf8.allSatisfy({ isTokenByte($0) }) else { return .failed(.malformedHeader) }
      let value = line[line.index(after: colon)...].trimmingASCIIWhitespace()
      headers.append((String(name), String(value)))
    }
    return .request(HTTPRequest(method: String(parts[0]), target: target, path: path, version: String(parts[2]),
                                headers: headers, headBytes: head.count))
  }

  /// RFC 9110 token characters (method and header names).
  static func isTokenByte(_ c: UInt8) -> Bool {
    switch c {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
      return true
    default:
      return "!#$%&'*+-.^_`|~".utf8.contains(c)
    }
  }
}
