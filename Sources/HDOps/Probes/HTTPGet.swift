// A deliberately tiny HTTP/1.0 GET for the doctor's running-relay check: one
// request, bounded time, bounded body. Not a general client.
@preconcurrency import Glibc

enum HTTPGet {
  /// How much of a response we keep; /health bodies are a few hundred bytes.
  static let responseBytesMax = 64 * 1024

  static func fetch(host: String, port: Int, path: String, timeoutMilliseconds: Int) -> HealthProbeResult {
    guard let address = SocketAddress(host: host, port: port) else {
      return .unreachable(reason: "not an IP address: \(host)")
    }
    let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
    guard fd >= 0 else { return .unreachable(reason: errnoName(errno)) }
    defer { close(fd) }
    var deadline = Deadline(milliseconds: timeoutMilliseconds)

    if address.connect(fd) != 0 {
      guard errno == EINPROGRESS else { return .unreachable(reason: errnoName(errno)) }
      guard wait(fd, for: Int16(POLLOUT), &deadline) else { return .unreachable(reason: "timeout connecting") }
      var socketError: Int32 = 0
      var length = socklen_t(MemoryLayout<Int32>.size)
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &socketError, &length)
      guard socketError == 0 else { return .unreachable(reason: errnoName(socketError)) }
    }

    let hostHeader = address.family == AF_INET6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    let request = Array("GET \(path) HTTP/1.0\r\nHost: \(hostHeader)\r\nUser-Agent: hdctl-doctor\r\nConnection: close\r\n\r\n".utf8)
    var sent = 0
    while sent < request.count {
      let count = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
      if count > 0 {
        sent += count
      } else if errno == EAGAIN || errno == EINTR {
        guard wait(fd, for: Int16(POLLOUT), &deadline) else { return .unreachable(reason: "timeout sending") }
      } else {
        return .unreachable(reason: errnoName(errno))
      }
    }

    var response: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while response.count < responseBytesMax {
      let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      if count > 0 {
        response.append(contentsOf: chunk[0..<count])
      } else if count == 0 {
        break
      } else if errno == EAGAIN || errno == EINTR {
        guard wait(fd, for: Int16(POLLIN), &deadline) else {
          if response.isEmpty { return .unreachable(reason: "timeout waiting for an answer") }
          break
        }
      } else {
        if response.isEmpty { return .unreachable(reason: errnoName(errno)) }
        break
      }
    }
    return parse(response)
  }

  /// Status line and body of an HTTP/1.x response.
  static func parse(_ response: [UInt8]) -> HealthProbeResult {
    let text = String(decoding: response, as: UTF8.self)
    guard text.hasPrefix("HTTP/1."), let lineEnd = text.firstIndex(where: { $0 == "\r\n" || $0 == "\n" }) else {
      return .unreachable(reason: "not an HTTP response")
    }
    let statusFields = text[..<lineEnd].split(separator: " ")
    guard statusFields.count >= 2, let status = Int(statusFields[1]) else {
      return .unreachable(reason: "bad HTTP status line")
    }
    return .answered(status: status, body: String(decoding: bodyBytes(response), as: UTF8.self))
  }

  /// Bytes after the blank line that ends the headers.
  static func bodyBytes(_ response: [UInt8]) -> ArraySlice<UInt8> {
    var index = 0
    while index + 1 < response.count {
      if response[index] == 0x0A {
        if response[index + 1] == 0x0A { return response[(index + 2)...] }
        if response[index + 1] == 0x0D && index + 2 < response.count && response[index + 2] == 0x0A {
          return response[(index + 3)...]
        }
      }
      index += 1
    }
    return []
  }

  private static func wait(_ fd: Int32, for events: Int16, _ deadline: inout Deadline) -> Bool {
    while true {
      let remaining = deadline.remainingMilliseconds()
      guard remaining > 0 else { return false }
      var entry = pollfd(fd: fd, events: events, revents: 0)
      let ready = poll(&entry, 1, Int32(remaining))
      if ready > 0 { return true }
      if ready == 0 { return false }
      if errno != EINTR { return false }
    }
  }
}

/// A monotonic-clock deadline in milliseconds.
struct Deadline {
  private let endNanoseconds: UInt64

  init(milliseconds: Int) {
    endNanoseconds = Deadline.nowNanoseconds() + UInt64(max(0, milliseconds)) * 1_000_000
  }

  func remainingMilliseconds() -> Int {
    let now = Deadline.nowNanoseconds()
    return now >= endNanoseconds ? 0 : Int((endNanoseconds - now + 999_999) / 1_000_000)
  }

  private static func nowNanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
  }
}

/// An IPv4 or IPv6 literal plus port, ready for connect().
struct SocketAddress {
  var family: Int32
  private var storage = sockaddr_storage()
  private var length: socklen_t

  init?(host: String, port: Int) {
    guard (0...65535).contains(port) else { return nil }
    var v4 = sockaddr_in()
    if inet_pton(AF_INET, host, &v4.sin_addr) == 1 {
      v4.sin_family = sa_family_t(AF_INET)
      v4.sin_port = UInt16(port).bigEndian
      family = AF_INET
      length = socklen_t(MemoryLayout<sockaddr_in>.size)
      withUnsafeMutableBytes(of: &storage) { $0.copyBytes(from: withUnsafeBytes(of: v4) { Array($0) }) }
      return
    }
    var v6 = sockaddr_in6()
    if inet_pton(AF_INET6, host, &v6.sin6_addr) == 1 {
      v6.sin6_family = sa_family_t(AF_INET6)
      v6.sin6_port = UInt16(port).bigEndian
      family = AF_INET6
      length = socklen_t(MemoryLayout<sockaddr_in6>.size)
      withUnsafeMutableBytes(of: &storage) { $0.copyBytes(from: withUnsafeBytes(of: v6) { Array($0) }) }
      return
    }
    return nil
  }

  func connect(_ fd: Int32) -> Int32 {
    var copy = storage
    return withUnsafePointer(to: &copy) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) }
    }
  }
}
