// The HTTP side of `hdctl probe --listen`: GET /metrics (Prometheus text),
// GET / (status page), 404 otherwise. One connection at a time on its own
// thread, each answered and closed: a scraper and a person, not a crowd.
import Foundation
@preconcurrency import Glibc

public final class ProbeHTTPServer: @unchecked Sendable {
  public let fileDescriptor: Int32
  public let port: Int
  private let lock = NSLock()
  private var metricsText = ""
  private var pageText = ""

  /// Binds `address` ("127.0.0.1:9100", "[::1]:9100", ":9100" = all addresses).
  public init(listen address: String) throws(HTTPFetchError) {
    guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (0...65535).contains(port)
    else { throw HTTPFetchError("--listen \(address): expected HOST:PORT, e.g. 127.0.0.1:9100") }
    var host = String(address[..<colon])
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    if host.isEmpty { host = "::" }
    var v4 = sockaddr_in()
    var v6 = sockaddr_in6()
    let family: Int32
    if inet_pton(AF_INET, host, &v4.sin_addr) == 1 {
      family = AF_INET
      v4.sin_family = sa_family_t(AF_INET)
      v4.sin_port = UInt16(port).bigEndian
    } else if inet_pton(AF_INET6, host, &v6.sin6_addr) == 1 {
      family = AF_INET6
      v6.sin6_family = sa_family_t(AF_INET6)
      v6.sin6_port = UInt16(port).bigEndian
    } else {
      throw HTTPFetchError("--listen \(address): \(host) is not an IP address")
    }
    let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw HTTPFetchError("socket: \(String(cString: strerror(errno)))") }
    var one: Int32 = 1
    _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    let bound: Int32 =
      family == AF_INET
      ? withUnsafePointer(to: &v4) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
      : withUnsafePointer(to: &v6) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
    guard bound == 0, listen(fd, 16) == 0 else {
      let why = String(cString: strerror(errno))
      close(fd)
      throw HTTPFetchError("--listen \(address): \(why)")
    }
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    _ = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    self.port = withUnsafeBytes(of: &storage) { Int(UInt16(bigEndian: $0.loadUnaligned(fromByteOffset: 2, as: UInt16.self))) }
    self.fileDescriptor = fd
  }

  /// What the next requests are answered with.
  public func publish(metrics: String, page: String) {
    lock.lock()
    metricsText = metrics
    pageText = page
    lock.unlock()
  }

  public func start() {
    let thread = Thread { [self] in serve() }
    thread.name = "probe-http"
    thread.start()
  }

  private func serve() {
    while true {
      let client = accept(fileDescriptor, nil, nil)
      if client < 0 {
        if errno == EINTR || errno == ECONNABORTED { continue }
        usleep(100_000)  // EMFILE and friends: do not spin
        continue
      }
      SocketTimeouts.set(client, seconds: 5)
      answer(client)
      close(client)
    }
  }

  private func answer(_ client: Int32) {
    var head: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while HTTPFetch.findHeadEnd(head) == nil && head.count < 8192 {
      let n = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
      guard n > 0 else { return }
      head += chunk[0..<n]
    }
    let requestLine = String(decoding: head.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self).split(separator: " ")
    let method = requestLine.first.map(String.init) ?? ""
    let path = requestLine.count > 1 ? String(requestLine[1].prefix { $0 != "?" }) : ""
    lock.lock()
    let (metrics, page) = (metricsText, pageText)
    lock.unlock()
    let (status, type, body): (String, String, String)
    if method != "GET" && method != "HEAD" {
      (status, type, body) = ("405 Method Not Allowed", "text/plain; charset=utf-8", "GET or HEAD\n")
    } else if path == "/metrics" {
      (status, type, body) = ("200 OK", "text/plain; version=0.0.4; charset=utf-8", metrics)
    } else if path == "/" {
      (status, type, body) = ("200 OK", "text/html; charset=utf-8", page)
    } else {
      (status, type, body) = ("404 Not Found", "text/plain; charset=utf-8", "not found\n")
    }
    let bytes = Array(body.utf8)
    var response = Array("HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(bytes.count)\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n".utf8)
    if method != "HEAD" { response += bytes }
    var offset = 0
    while offset < response.count {
      let n = response[offset...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
      guard n > 0 else { return }
      offset += n
    }
  }
}
