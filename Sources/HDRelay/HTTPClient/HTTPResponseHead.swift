// The status line and headers of an HTTP/1.1 response, enough to know when
// the body is complete (Content-Length, chunked, or until close).

struct HTTPResponseHead {
  let status: Int
  /// Offset of the first body byte.
  let bodyStart: Int
  let contentLength: Int?
  let chunked: Bool
  /// Every header line, names lower-cased, in order.
  let headers: [(name: String, value: String)]
  /// Body bytes beyond this are not read (the caller's limit).
  let bodyBytesMax: Int

  /// Nil until `bytes` holds the whole head (or when it is not an HTTP response).
  init?(_ bytes: [UInt8], bodyBytesMax: Int = VerifyHTTPClient.bodyBytesMax) {
    guard let end = HTTPResponseHead.headEnd(bytes) else { return nil }
    guard let text = String(validating: bytes[0..<end], as: UTF8.self) else { return nil }
    let lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)
    let statusParts = lines[0].split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
    // "HTTP/1.<digit> <3 digits>" (RFC 9112 §4), one space each: the
    // verify-response fuzz target found "HTTP/1.<any bytes, even a bare LF> 200"
    // and then "HTTP/1.1  200" (two spaces) taken for a status line.
    guard statusParts.count >= 2, statusParts[0].utf8.count == 8, statusParts[0].hasPrefix("HTTP/1."),
      statusParts[0].utf8.last.map({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) == true,
      statusParts[1].utf8.count == 3, statusParts[1].utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
      let code = Int(statusParts[1])
    else { return nil }
    status = code
    bodyStart = end + 4
    var length: Int? = nil
    var isChunked = false
    var fields: [(name: String, value: String)] = []
    for line in lines.dropFirst() {
      guard let colon = line.firstIndex(of: ":") else { continue }
      let name = line[..<colon].lowercased()
      let value = line[line.index(after: colon)...].trimmingSpaces
      fields.append((name, value))
      // Digits only: Int("-200") is -200, and a negative length trapped in
      // `body(in:)` (verify-response fuzz finding: one header killed the relay).
      if name == "content-length" {
        guard !value.isEmpty, value.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        length = Int(value)
      }
      if name == "transfer-encoding" && value.lowercased().contains("chunked") { isChunked = true }
    }
    contentLength = isChunked ? nil : length
    chunked = isChunked
    headers = fields
    self.bodyBytesMax = bodyBytesMax
  }

  /// The first value of header `name` (case-insensitive).
  func header(_ name: String) -> String? {
    let lower = name.lowercased()
    return headers.first { $0.name == lower }?.value
  }

  private static func headEnd(_ bytes: [UInt8]) -> Int? {
    guard bytes.count >= 4 else { return nil }
    for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
      return i
    }
    return nil
  }

  /// True once the body is all there (or the `bodyBytesMax` we read of it).
  func bodyComplete(in bytes: [UInt8]) -> Bool {
    let have = bytes.count - bodyStart
    if have >= bodyBytesMax { return true }
    if let length = contentLength { return have >= length }
    if chunked { return body(in: bytes) != nil }
    return false  // delimited by close
  }

  /// The body bytes (de-chunked); nil while a chunked body is incomplete or malformed.
  func body(in bytes: [UInt8]) -> [UInt8]? {
    let raw = Array(bytes[min(bodyStart, bytes.count)...])
    if let length = contentLength { return Array(raw.prefix(length)) }
    guard chunked else { return raw }
    var out: [UInt8] = []
    var i = 0
    while true {
      guard let lineEnd = HTTPResponseHead.crlf(raw, from: i) else { return nil }
      let sizeText = String(decoding: raw[i..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
      guard let size = Int(sizeText.trimmingSpaces, radix: 16), size >= 0 else { return nil }
      if size == 0 { return out }
      let start = lineEnd + 2
      // No `start + size + 2`: a size near Int.max overflowed and trapped (verify-response fuzz target).
      guard size <= raw.count - start - 2 else { return nil }
      out += raw[start..<(start + size)]
      if out.count >= bodyBytesMax { return out }
      i = start + size + 2
    }
  }

  private static func crlf(_ bytes: [UInt8], from: Int) -> Int? {
    var i = from
    while i + 1 < bytes.count {
      if bytes[i] == 13 && bytes[i + 1] == 10 { return i }
      i += 1
    }
    return nil
  }
}

extension StringProtocol {
  fileprivate var trimmingSpaces: String {
    String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
  }
}
