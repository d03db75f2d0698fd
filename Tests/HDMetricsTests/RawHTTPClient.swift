// A deliberately dumb blocking HTTP/1.1 client for the metrics tests: it
// sends exactly the bytes a test gives it (so tests can send malformed
// requests) and parses responses framed by Content-Length.
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

struct RawHTTPResponse {
  var status: Int
  var headers: [String: String]
  var body: [UInt8]
  var bodyText: String { String(decoding: body, as: UTF8.self) }
}

enum RawHTTPError: Error {
  case connect(Int32)
  case closed
  case timeout
  case badResponse(String)
}

final class RawHTTPClient {
  let fd: Int32
  private var buffer: [UInt8] = []

  init(port: Int, host: String = "127.0.0.1", timeoutSeconds: Int = 5) throws {
    fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    inet_pton(AF_INET, host, &address.sin_addr)
    let rc = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard rc == 0 else {
      let code = errno
      close(fd)
      throw RawHTTPError.connect(code)
    }
    var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
  }

  deinit { close(fd) }

  func send(_ text: String) { send(Array(text.utf8)) }

  func send(_ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
      let count = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
      if count <= 0 { return }  // The server may close early (431); the test checks the answer.
      offset += count
    }
  }

  /// Reads one response. `bodyExpected` false for answers to HEAD.
  func readResponse(bodyExpected: Bool = true) throws -> RawHTTPResponse {
    let headEnd = try readUntilHeadEnd()
    let head = String(decoding: buffer[0..<headEnd], as: UTF8.self)
    buffer.removeFirst(headEnd + 4)
    var lines = head.components(separatedBy: "\r\n")
    let statusParts = lines.removeFirst().split(separator: " ")
    guard statusParts.count >= 2, statusParts[0] == "HTTP/1.1", let status = Int(statusParts[1]) else {
      throw RawHTTPError.badResponse(head)
    }
    var headers: [String: String] = [:]
    for line in lines {
      guard let colon = line.firstIndex(of: ":") else { throw RawHTTPError.badResponse(line) }
      headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    let length = bodyExpected ? Int(headers["content-length"] ?? "0") ?? 0 : 0
    while buffer.count < length { try fill() }
    let body = Array(buffer[0..<length])
    buffer.removeFirst(length)
    return RawHTTPResponse(status: status, headers: headers, body: body)
  }

  /// True when the server closed the connection (EOF) within the timeout.
  func isClosedByPeer() -> Bool {
    do {
      while true { try fill() }
    } catch RawHTTPError.closed {
      return true
    } catch {
      return false
    }
  }

  private func readUntilHeadEnd() throws -> Int {
    while true {
      if let end = findHeadEnd() { return end }
      try fill()
    }
  }

  private func findHeadEnd() -> Int? {
    guard buffer.count >= 4 else { return nil }
    for index in 0...(buffer.count - 4)
    where buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13 && buffer[index + 3] == 10 {
      return index
    }
    return nil
  }

  private func fill() throws {
    var chunk = [UInt8](repeating: 0, count: 65536)
    let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
    if count == 0 { throw RawHTTPError.closed }
    if count < 0 { throw errno == ECONNRESET ? RawHTTPError.closed : RawHTTPError.timeout }
    buffer += chunk[0..<count]
  }
}

/// One GET on a fresh connection.
func httpGet(port: Int, path: String, method: String = "GET") throws -> RawHTTPResponse {
  let client = try RawHTTPClient(port: port)
  client.send("\(method) \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
  return try client.readResponse(bodyExpected: method != "HEAD")
}
