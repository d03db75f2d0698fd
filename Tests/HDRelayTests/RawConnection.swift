// A plain blocking TCP socket for the tests that must see exact bytes (the 101
// response, HTTP endpoints) or misbehave on purpose (idle, malformed frames).
import Foundation
import HDProtocol

final class RawConnection {
  let fd: Int32

  init(port: UInt16, host: String = "127.0.0.1") throws {
    fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EMFILE) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    inet_pton(AF_INET, host, &address.sin_addr)
    let rc = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard rc == 0 else {
      let code = errno
      close(fd)
      throw POSIXError(POSIXErrorCode(rawValue: code) ?? .ECONNREFUSED)
    }
  }

  deinit { close(fd) }

  /// The local port, to find the relay's end of this connection.
  var localPort: UInt16 {
    var address = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return UInt16(bigEndian: address.sin_port)
  }

  func send(_ text: String) { send(Array(text.utf8)) }

  func send(_ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
      let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
      if n <= 0 { return }
      offset += n
    }
  }

  /// Up to `count` bytes: fewer only at EOF or when `timeoutSeconds` pass.
  func read(count: Int, timeoutSeconds: Double = 5) -> [UInt8] {
    var result: [UInt8] = []
    let deadline = Date().addingTimeInterval(timeoutSeconds)
    while result.count < count {
      let remaining = deadline.timeIntervalSinceNow
      guard remaining > 0, waitReadable(remaining) else { break }
      var buffer = [UInt8](repeating: 0, count: count - result.count)
      let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      if n <= 0 { break }
      result += buffer[0..<n]
    }
    return result
  }

  /// Everything until the peer closes (or the timeout passes).
  func readToEnd(timeoutSeconds: Double = 5) -> [UInt8] {
    var result: [UInt8] = []
    let deadline = Date().addingTimeInterval(timeoutSeconds)
    while true {
      let remaining = deadline.timeIntervalSinceNow
      guard remaining > 0, waitReadable(remaining) else { break }
      var buffer = [UInt8](repeating: 0, count: 65536)
      let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      if n <= 0 { break }
      result += buffer[0..<n]
    }
    return result
  }

  /// Seconds until the peer closed the connection, or nil if it was still open after `timeoutSeconds`.
  /// Data arriving meanwhile is discarded.
  func secondsUntilClosed(timeoutSeconds: Double) -> Double? {
    let start = Date()
    let deadline = start.addingTimeInterval(timeoutSeconds)
    while true {
      let remaining = deadline.timeIntervalSinceNow
      guard remaining > 0, waitReadable(remaining) else { return nil }
      var buffer = [UInt8](repeating: 0, count: 4096)
      let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      if n <= 0 { return Date().timeIntervalSince(start) }
    }
  }

  private func waitReadable(_ seconds: Double) -> Bool {
    var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    return poll(&poller, 1, Int32(max(1, seconds * 1000))) == 1
  }

  // MARK: DERP over a raw connection

  /// Sends the upgrade request; `extraHeaders` e.g. "Derp-Fast-Start: 1\r\n".
  func sendUpgrade(extraHeaders: String = "") {
    send("GET /derp HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: DERP\r\n\(extraHeaders)\r\n")
  }

  /// Upgrade and read through the 101 and the ServerKey frame.
  func upgradeAndReadServerKey(serverKey: DERPKey) -> Bool {
    sendUpgrade()
    let expected = HTTPText.switchingProtocols(serverKey: serverKey).count + 45
    return read(count: expected).count == expected
  }

  /// Sends ClientInfo carrying `json` (sealed for `serverKey`), for the JSON decoding tests.
  func sendClientInfo(json: String, client: DERPKeyPair, serverKey: DERPKey) {
    let sealed = NaClBox.seal(Array(json.utf8), to: serverKey, from: client.privateKey)
    sendFrame(type: 0x02, payload: client.publicKey.bytes + sealed)
  }

  func sendFrame(type: UInt8, payload: [UInt8]) {
    let length = UInt32(payload.count)
    send([type, UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)] + payload)
  }

  /// The next frame's type and payload, or nil at EOF/timeout.
  func readFrame(timeoutSeconds: Double = 5) -> (type: UInt8, payload: [UInt8])? {
    let header = read(count: 5, timeoutSeconds: timeoutSeconds)
    guard header.count == 5 else { return nil }
    let length = Int(header[1]) << 24 | Int(header[2]) << 16 | Int(header[3]) << 8 | Int(header[4])
    let payload = read(count: length, timeoutSeconds: timeoutSeconds)
    guard payload.count == length else { return nil }
    return (header[0], payload)
  }
}

/// The exact response texts the relay must produce.
enum HTTPText {
  static func switchingProtocols(serverKey: DERPKey) -> [UInt8] {
    Array(
      ("HTTP/1.1 101 Switching Protocols\r\n" + "Upgrade: DERP\r\n" + "Connection: Upgrade\r\n"
        + "Derp-Version: 2\r\n" + "Derp-Public-Key: \(serverKey.hex)\r\n" + "\r\n").utf8)
  }
}

/// Splits an HTTP response into status line and lower-cased header map.
struct HTTPReply {
  var statusLine: String
  var headers: [String: String]
  var body: String

  init?(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    guard let split = text.range(of: "\r\n\r\n") else { return nil }
    var lines = text[..<split.lowerBound].components(separatedBy: "\r\n")
    statusLine = lines.removeFirst()
    headers = [:]
    for line in lines {
      guard let colon = line.firstIndex(of: ":") else { continue }
      headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    body = String(text[split.upperBound...])
  }

  var status: Int { Int(statusLine.split(separator: " ")[1]) ?? 0 }
}
