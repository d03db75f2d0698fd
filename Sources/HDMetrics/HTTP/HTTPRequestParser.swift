// Parses an HTTP/1.x request head (RFC 9112 §2–§5) from the bytes read so far.
// Strict where sloppiness could desynchronise a keep-alive connection (framing
// headers, whitespace before colons, obsolete line folding), lenient where
// RFC 9112 allows it (bare LF line ends, empty lines before the request line).

package struct HTTPRequestParser {
  /// Largest head accepted, request line included; larger heads get 431.
  /// 8 KiB matches common servers (nginx's default large_client_header_buffers).
  package var maxHeadBytes = 8192
  /// More header fields than this get 431 as well.
  package var maxHeaderCount = 64

  package init() {}

  package enum Outcome: Equatable {
    /// No complete head yet (and the bytes so far are within the limits).
    case incomplete
    /// A head, and how many bytes of the buffer it used.
    case complete(HTTPRequestHead, consumedBytes: Int)
  }

  /// Looks for a complete head at the start of `bytes`.
  package func parse(_ bytes: ArraySlice<UInt8>) throws(HTTPRequestError) -> Outcome {
    var lines: [ArraySlice<UInt8>] = []
    var lineStart = bytes.startIndex
    var index = bytes.startIndex
    while index < bytes.endIndex {
      if index - bytes.startIndex >= maxHeadBytes { throw .headTooLarge }
      if bytes[index] == lf {
        var line = bytes[lineStart..<index]
        if line.last == cr { line = line.dropLast() }
        if line.contains(cr) { throw .malformed("bare CR in request head") }
        index += 1
        lineStart = index
        if line.isEmpty {
          if lines.isEmpty { continue }  // Empty lines before the request line are allowed.
          let head = try makeHead(lines)
          return .complete(head, consumedBytes: index - bytes.startIndex)
        }
        lines.append(line)
        if lines.count > maxHeaderCount + 1 { throw .headTooLarge }
        continue
      }
      index += 1
    }
    if bytes.count >= maxHeadBytes { throw .headTooLarge }
    return .incomplete
  }

  private func makeHead(_ lines: [ArraySlice<UInt8>]) throws(HTTPRequestError) -> HTTPRequestHead {
    let requestLine = try parseRequestLine(lines[0])
    var connectionTokens: [String] = []
    var hostCount = 0
    var contentLength: Int?
    var hasTransferEncoding = false
    for line in lines.dropFirst() {
      let (name, value) = try parseField(line)
      switch name {
      case "host":
        hostCount += 1
      case "connection":
        connectionTokens += value.split(separator: ",").map {
          String($0.filter { $0 != " " && $0 != "\t" }).lowercased()
        }
      case "content-length":
        // Differing or unparsable lengths are a request-smuggling vector (RFC 9112 §6.3).
        guard let length = Int(value), length >= 0, contentLength == nil || contentLength == length else {
          throw .malformed("invalid Content-Length")
        }
        contentLength = length
      case "transfer-encoding":
        hasTransferEncoding = true
      default:
        break
      }
    }
    if requestLine.minorVersion == 1 && hostCount != 1 {
      throw .malformed("HTTP/1.1 request needs exactly one Host header")
    }
    if hasTransferEncoding && contentLength != nil {
      throw .malformed("both Transfer-Encoding and Content-Length")
    }
    let keepAlive: Bool
    if connectionTokens.contains("close") {
      keepAlive = false
    } else if requestLine.minorVersion == 0 {
      keepAlive = connectionTokens.contains("keep-alive")
    } else {
      keepAlive = true
    }
    return HTTPRequestHead(
      method: requestLine.method, path: requestLine.path, minorVersion: requestLine.minorVersion,
      keepAlive: keepAlive, hasBody: hasTransferEncoding || (contentLength ?? 0) > 0)
  }

  private struct RequestLine {
    var method: String
    var path: String
    var minorVersion: Int
  }

  private func parseRequestLine(_ line: ArraySlice<UInt8>) throws(HTTPRequestError) -> RequestLine {
    let parts = line.split(separator: space, omittingEmptySubsequences: false)
    guard parts.count == 3 else { throw .malformed("request line must be 'METHOD target HTTP/x.y'") }
    let method = parts[0]
    guard !method.isEmpty, method.allSatisfy(isTokenByte) else { throw .malformed("invalid method") }
    guard parts[1].allSatisfy({ $0 > space && $0 < 0x7F }) else { throw .malformed("invalid request target") }
    let target = try originForm(parts[1])
    let version = Array(parts[2])
    let prefix = Array("HTTP/".utf8)
    guard version.count == 8, Array(version[0..<5]) == prefix, isDigit(version[5]), version[6] == dot,
      isDigit(version[7])
    else { throw .malformed("invalid HTTP version") }
    guard version[5] == UInt8(ascii: "1"), version[7] <= UInt8(ascii: "1") else { throw .versionNotSupported }
    let pathEnd = target.firstIndex(of: question) ?? target.endIndex
    return RequestLine(
      method: String(decoding: method, as: UTF8.self),
      path: String(decoding: target[target.startIndex..<pathEnd], as: UTF8.self),
      minorVersion: Int(version[7] - UInt8(ascii: "0")))
  }

  /// The path (and query) of the target. Servers must accept the absolute form
  /// `http://host/path` too (RFC 9112 §3.2.2); its authority is ignored.
  private func originForm(_ target: ArraySlice<UInt8>) throws(HTTPRequestError) -> ArraySlice<UInt8> {
    if target.first == slash { return target }
    for scheme in ["http://", "https://"] {
      let prefix = Array(scheme.utf8)
      guard target.count > prefix.count, target.prefix(prefix.count).elementsEqual(prefix) else { continue }
      let afterScheme = target.dropFirst(prefix.count)
      guard let pathStart = afterScheme.firstIndex(of: slash) else { return [slash][...] }
      return target[pathStart...]
    }
    throw .malformed("request target must be an absolute path or an http(s) URL")
  }

  /// One `name: value` field; the name lowercased, the value trimmed.
  private func parseField(_ line: ArraySlice<UInt8>) throws(HTTPRequestError) -> (String, String) {
    if line.first == space || line.first == tab { throw .malformed("obsolete line folding") }
    guard let colon = line.firstIndex(of: colon) else { throw .malformed("header field without ':'") }
    let name = line[line.startIndex..<colon]
    // No whitespace between name and colon (RFC 9112 §5.1): must be rejected with 400.
    guard !name.isEmpty, name.allSatisfy(isTokenByte) else { throw .malformed("invalid header name") }
    var value = line[(colon + 1)...]
    while let first = value.first, first == space || first == tab { value = value.dropFirst() }
    while let last = value.last, last == space || last == tab { value = value.dropLast() }
    guard value.allSatisfy({ $0 == tab || ($0 >= space && $0 != 0x7F) }) else {
      throw .malformed("control character in header value")
    }
    return (String(decoding: name, as: UTF8.self).lowercased(), String(decoding: value, as: UTF8.self))
  }
}

private let cr = UInt8(ascii: "\r")
private let lf = UInt8(ascii: "\n")
private let space = UInt8(ascii: " ")
private let tab = UInt8(ascii: "\t")
private let slash = UInt8(ascii: "/")
private let dot = UInt8(ascii: ".")
private let colon = UInt8(ascii: ":")
private let question = UInt8(ascii: "?")

private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

/// RFC 9110 §5.6.2 tchar.
private func isTokenByte(_ byte: UInt8) -> Bool {
  switch byte {
  case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
    UInt8(ascii: "0")...UInt8(ascii: "9"):
    return true
  default:
    return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
  }
}
