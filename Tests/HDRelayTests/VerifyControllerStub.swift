// A tiny admission controller on 127.0.0.1 for the verify_clients tests:
// records each POST (request line, headers, body) and answers per node key
// (Allow true/false, a status, a raw body, or no answer until stopped).
import Foundation
import Glibc

final class VerifyControllerStub: @unchecked Sendable {
  enum Reply {
    case allow(Bool)
    case status(Int)
    case body(String)
    /// Never answers (the connection stays open until the stub stops).
    case hang
  }

  struct Request {
    let requestLine: String
    let headers: [String: String]
    let body: String
  }

  let port: UInt16
  private let listenFD: Int32
  private let lock = NSLock()
  private var recorded: [Request] = []
  private var stopped = false
  private let decide: @Sendable (String) -> Reply

  /// `decide` gets the request body's NodePublic text ("nodekey:<hex>").
  init(_ decide: @escaping @Sendable (String) -> Reply) throws {
    self.decide = decide
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    listenFD = fd
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Bool in
        bind(fd, p, length) == 0 && listen(fd, 64) == 0 && getsockname(fd, p, &length) == 0
      }
    }
    guard bound else {
      close(fd)
      throw NSError(domain: "stub", code: Int(errno))
    }
    port = UInt16(bigEndian: addr.sin_port)
    let thread = Thread { [self] in acceptLoop() }
    thread.start()
  }

  var url: String { "http://127.0.0.1:\(port)/verify" }

  var requests: [Request] { lock.withLock { recorded } }

  func stop() {
    lock.withLock { stopped = true }
    shutdown(listenFD, Int32(SHUT_RDWR))
  }

  deinit { close(listenFD) }

  private var isStopped: Bool { lock.withLock { stopped } }

  private func acceptLoop() {
    while !isStopped {
      let fd = accept(listenFD, nil, nil)
      if fd < 0 { if isStopped { return } else { continue } }
      let thread = Thread { [self] in serve(fd) }
      thread.start()
    }
  }

  private func serve(_ fd: Int32) {
    defer { close(fd) }
    var data: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    var headEnd: Int? = nil
    var contentLength = 0
    var headers: [String: String] = [:]
    var requestLine = ""
    while true {
      if headEnd == nil, let range = findHeadEnd(data) {
        headEnd = range
        let lines = String(decoding: data[0..<range], as: UTF8.self).components(separatedBy: "\r\n")
        requestLine = lines[0]
        for line in lines.dropFirst() {
          guard let colon = line.firstIndex(of: ":") else { continue }
          headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        contentLength = Int(headers["content-length"] ?? "0") ?? 0
      }
      if let end = headEnd, data.count >= end + 4 + contentLength { break }
      let n = read(fd, &buffer, buffer.count)
      if n <= 0 { return }
      data += buffer[0..<n]
    }
    let body = String(decoding: data[(headEnd! + 4)...], as: UTF8.self)
    lock.withLock { recorded.append(Request(requestLine: requestLine, headers: headers, body: body)) }
    let nodeKey = body.components(separatedBy: "\"NodePublic\":\"").dropFirst().first?.components(separatedBy: "\"").first ?? ""
    let answer: (Int, String)
    switch decide(nodeKey) {
    case .allow(let allow): answer = (200, "{\"Allow\":\(allow)}")
    case .status(let code): answer = (code, "no")
    case .body(let text): answer = (200, text)
    case .hang:
      while !isStopped { usleep(20_000) }
      return
    }
    let response = "HTTP/1.1 \(answer.0) X\r\nContent-Type: application/json\r\nContent-Length: \(answer.1.utf8.count)\r\n"
      + "Connection: close\r\n\r\n\(answer.1)"
    _ = response.withCString { write(fd, $0, strlen($0)) }
  }

  private func findHeadEnd(_ data: [UInt8]) -> Int? {
    guard data.count >= 4 else { return nil }
    for i in 0...(data.count - 4) where data[i] == 13 && data[i + 1] == 10 && data[i + 2] == 13 && data[i + 3] == 10 {
      return i
    }
    return nil
  }
}

