// One keep-alive HTTP/1.1 connection to the relay's metrics endpoint:
// `GET /metrics`, read the head, then exactly Content-Length body bytes
// (the relay always sends it). Blocking with a 2 s timeout: at 10 Hz a
// scrape that takes longer is a failure worth counting, not waiting for.
@preconcurrency import Glibc

struct MetricsScraper {
  let host: String
  let port: UInt16
  private var fd: Int32 = -1
  private var buffer = [UInt8](repeating: 0, count: 64 * 1024)
  private static let request = Array("GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n".utf8)

  init(host: String, port: UInt16) {
    self.host = host
    self.port = port
  }

  /// Body length of one successful scrape.
  mutating func scrape() -> Result<Int, BenchError> {
    do throws(BenchError) {
      if fd < 0 { try connectSocket() }
      try sendAll(Self.request)
      return .success(try readResponse())
    } catch {
      return .failure(error)
    }
  }

  mutating func close() {
    if fd >= 0 { _ = Glibc.close(fd) }
    fd = -1
  }

  private mutating func connectSocket() throws(BenchError) {
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = port.bigEndian
    guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else { throw .usage("--host must be an IPv4 address, got '\(host)'") }
    let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard s >= 0 else { throw .system("socket", errno) }
    var timeout = timeval(tv_sec: 2, tv_usec: 0)
    _ = setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    _ = setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let rc = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0 else {
      let e = errno
      _ = Glibc.close(s)
      throw .system("connect \(host):\(port)", e)
    }
    fd = s
  }

  private func sendAll(_ bytes: [UInt8]) throws(BenchError) {
    var off = 0
    while off < bytes.count {
      let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + off, $0.count - off, Int32(MSG_NOSIGNAL)) }
      guard n > 0 else { throw .system("send", errno) }
      off += n
    }
  }

  /// Reads the status line and headers, checks for 200, then drains the body.
  private mutating func readResponse() throws(BenchError) -> Int {
    var filled = 0
    var headEnd: Int?
    while headEnd == nil {
      guard filled < buffer.count else { throw .failed("metrics response head larger than \(buffer.count) bytes") }
      filled += try receive(into: filled)
      headEnd = Self.findHeadEnd(buffer, filled)
    }
    let head = String(decoding: buffer[0..<headEnd!], as: UTF8.self)
    let lines = head.split(separator: "\r\n")
    guard let status = lines.first, status.hasPrefix("HTTP/1.1 200") else {
      throw .failed("metrics answered '\(lines.first ?? "")'")
    }
    guard let lengthLine = lines.first(where: { $0.lowercased().hasPrefix("content-length:") }),
      let length = Int(lengthLine.dropFirst("content-length:".count).trimmingSpaces())
    else { throw .failed("metrics response without Content-Length") }
    var remaining = length - (filled - (headEnd! + 4))
    while remaining > 0 { remaining -= try receive(into: 0) }
    guard remaining == 0 else { throw .failed("metrics response longer than its Content-Length") }
    return length
  }

  private mutating func receive(into offset: Int) throws(BenchError) -> Int {
    let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + offset, $0.count - offset, 0) }
    if n < 0 { throw .system("recv", errno) }
    if n == 0 { throw .failed("metrics connection closed") }
    return n
  }

  private static func findHeadEnd(_ b: [UInt8], _ count: Int) -> Int? {
    guard count >= 4 else { return nil }
    for i in 0...(count - 4) where b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 { return i }
    return nil
  }
}

extension Substring {
  fileprivate func trimmingSpaces() -> Substring {
    var s = self
    while s.first == " " || s.first == "\t" { s = s.dropFirst() }
    while s.last == " " || s.last == "\t" { s = s.dropLast() }
    return s
  }
}
