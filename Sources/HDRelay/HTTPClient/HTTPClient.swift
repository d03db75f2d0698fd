// A blocking HTTP/1.1 client (http:// or https://) with an overall deadline,
// for the relay's control-plane threads only (the admission verifier, the
// ACME client), never a worker. Plain HTTP: non-blocking socket + poll, so
// connect, write and read share one deadline and notice a stop request within
// a poll slice. HTTPS: the same connect, then OpenSSL on the socket with
// receive timeouts of one poll slice, so the read loop checks the deadline and
// the stop request just as often; the server's certificate must chain to the
// trust store and name the URL's host.
@preconcurrency import Glibc
import CURing
import HDConfig
import HDProtocol
import HDTLS

struct HTTPClientRequest {
  var method: String
  var url: HTTPURL
  /// Extra header lines (Host, User-Agent, Content-Length and Connection are added).
  var headers: [(name: String, value: String)] = []
  var body: [UInt8] = []
}

package struct HTTPClientResponse {
  package let status: Int
  package let headers: [(name: String, value: String)]
  package let body: [UInt8]

  /// The first value of header `name` (case-insensitive).
  func header(_ name: String) -> String? {
    let lower = name.lowercased()
    return headers.first { $0.name == lower }?.value
  }

  /// Every value of header `name` (ACME sends several `Link` headers).
  func headerValues(_ name: String) -> [String] {
    let lower = name.lowercased()
    return headers.filter { $0.name == lower }.map(\.value)
  }
}

/// Why an exchange produced no response.
package enum HTTPClientError: Error, Equatable {
  /// Name resolution, connect, TLS or I/O failed.
  case unreachable
  /// No complete answer by the deadline.
  case timeout
  /// An HTTP head, but a malformed body (chunking).
  case badResponse
  /// The caller asked to stop.
  case stopped
}

package struct HTTPClient {
  /// Trusted CAs for https:// servers.
  var trust: TLSTrust = .openSSLDefaults
  /// Largest response body read; longer bodies are cut here.
  var bodyBytesMax: Int

  package init(trust: TLSTrust = .openSSLDefaults, bodyBytesMax: Int) {
    self.trust = trust
    self.bodyBytesMax = bodyBytesMax
  }
  /// Largest status line + headers accepted.
  static let headBytesMax = 16 * 1024
  /// Poll slice: how soon a stop request is noticed.
  static let pollSliceMilliseconds: Int32 = 100

  /// Sends `request`; answers by `deadlineNanoseconds` (monotonic) or `stop()`.
  func send(
    _ request: HTTPClientRequest, deadlineNanoseconds: UInt64, stop: () -> Bool
  ) -> Result<HTTPClientResponse, HTTPClientError> {
    let url = request.url
    var hints = addrinfo()
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    hints.ai_family = AF_UNSPEC
    var list: UnsafeMutablePointer<addrinfo>? = nil
    // Name resolution blocks outside the deadline (getaddrinfo has no timeout).
    guard getaddrinfo(url.host, String(url.port), &hints, &list) == 0, let first = list else {
      return .failure(.unreachable)
    }
    defer { freeaddrinfo(list) }
    var lastFailure = HTTPClientError.unreachable
    var candidate: UnsafeMutablePointer<addrinfo>? = first
    while let ai = candidate {
      candidate = ai.pointee.ai_next
      let fd = socket(
        ai.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
      guard fd >= 0 else { continue }
      defer { close(fd) }
      if let why = connectSocket(fd, ai, deadlineNanoseconds, stop) {
        lastFailure = why
        if why != .unreachable { return .failure(why) }
        continue
      }
      let bytes = requestBytes(request)
      let isHead = request.method == "HEAD"
      return url.isHTTPS
        ? exchangeTLS(fd, url, bytes, isHead, deadlineNanoseconds, stop)
        : exchange(fd, bytes, isHead, deadlineNanoseconds, stop)
    }
    return .failure(lastFailure)
  }

  /// Nil once connected, else why not.
  private func connectSocket(
    _ fd: Int32, _ ai: UnsafeMutablePointer<addrinfo>, _ deadline: UInt64, _ stop: () -> Bool
  ) -> HTTPClientError? {
    if connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 { return nil }
    guard errno == EINPROGRESS else { return .unreachable }
    if let why = wait(fd, Int16(POLLOUT), deadline, stop) { return why }
    var error: Int32 = 0
    var length = socklen_t(MemoryLayout<Int32>.size)
    guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0, error == 0 else { return .unreachable }
    return nil
  }

  /// Waits until `fd` is ready for `events`; nil when ready, else why not.
  private func wait(_ fd: Int32, _ events: Int16, _ deadline: UInt64, _ stop: () -> Bool) -> HTTPClientError? {
    while true {
      let now = monotonicNanoseconds()
      if now >= deadline { return .timeout }
      if stop() { return .stopped }
      let leftMilliseconds = Int32(min(UInt64(HTTPClient.pollSliceMilliseconds), (deadline - now + 999_999) / 1_000_000))
      var p = pollfd(fd: fd, events: events, revents: 0)
      let n = poll(&p, 1, leftMilliseconds)
      if n > 0 { return nil }  // ready, or an error the next call reports
      if n < 0 && errno != EINTR { return .unreachable }
    }
  }

  private func requestBytes(_ request: HTTPClientRequest) -> [UInt8] {
    var head = "\(request.method) \(request.url.pathAndQuery) HTTP/1.1\r\nHost: \(request.url.hostHeader)\r\n"
      + "User-Agent: hyper-derp/\(ProductVersion.current)\r\n"
    for (name, value) in request.headers { head += "\(name): \(value)\r\n" }
    if request.method != "GET" && request.method != "HEAD" { head += "Content-Length: \(request.body.count)\r\n" }
    head += "Connection: close\r\n\r\n"
    return Array(head.utf8) + request.body
  }

  /// One read of the answer: bytes, end of stream, or why the exchange failed.
  package enum Chunk {
    case bytes(Int)
    case end
    case failed(HTTPClientError)
  }

  /// Reads until the answer is complete (or too large, or the stream ends).
  /// Fed by `readChunk`, so the fuzzer (verify-response) runs it on bytes.
  package func readAnswer(
    isHead: Bool, _ readChunk: (UnsafeMutableRawBufferPointer) -> Chunk
  ) -> Result<HTTPClientResponse, HTTPClientError> {
    var response: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    var parsed: HTTPResponseHead? = nil
    reading: while true {
      if parsed == nil, let head = HTTPResponseHead(response, bodyBytesMax: bodyBytesMax) {
        parsed = head
      }
      if let head = parsed, isHead || head.bodyComplete(in: response) { break }
      if response.count > HTTPClient.headBytesMax + bodyBytesMax { break }
      switch chunk.withUnsafeMutableBytes(readChunk) {
      case .bytes(let n): response += chunk[0..<n]
      case .end: break reading  // closed: whatever arrived is the answer
      case .failed(let why): return .failure(why)
      }
    }
    guard let head = parsed ?? HTTPResponseHead(response, bodyBytesMax: bodyBytesMax) else {
      return .failure(.unreachable)  // nothing, or not HTTP: no server we can talk to
    }
    let body = isHead ? [] : head.body(in: response)
    guard let body else { return .failure(.badResponse) }
    return .success(HTTPClientResponse(status: head.status, headers: head.headers, body: Array(body.prefix(bodyBytesMax))))
  }

  private func exchange(
    _ fd: Int32, _ request: [UInt8], _ isHead: Bool, _ deadline: UInt64, _ stop: () -> Bool
  ) -> Result<HTTPClientResponse, HTTPClientError> {
    var sent = 0
    while sent < request.count {
      let n = request.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, request.count - sent, Int32(MSG_NOSIGNAL)) }
      if n > 0 {
        sent += n
        continue
      }
      guard n < 0 && (errno == EAGAIN || errno == EINTR) else { return .failure(.unreachable) }
      if let why = wait(fd, Int16(POLLOUT), deadline, stop) { return .failure(why) }
    }
    return readAnswer(isHead: isHead) { buffer in
      while true {
        let n = recv(fd, buffer.baseAddress!, buffer.count, 0)
        if n > 0 { return .bytes(n) }
        if n == 0 { return .end }
        guard errno == EAGAIN || errno == EINTR else { return .failed(.unreachable) }
        if let why = wait(fd, Int16(POLLIN), deadline, stop) { return .failed(why) }
      }
    }
  }

  /// HTTPS: TLS on the connected socket (blocking, with receive and send
  /// timeouts so no call outlives the deadline by more than a poll slice).
  private func exchangeTLS(
    _ fd: Int32, _ url: HTTPURL, _ request: [UInt8], _ isHead: Bool, _ deadline: UInt64, _ stop: () -> Bool
  ) -> Result<HTTPClientResponse, HTTPClientError> {
    // The stream owns (and closes) its descriptor; send() closes the original.
    let own = dup(fd)
    guard own >= 0 else { return .failure(.unreachable) }
    let flags = fcntl(own, F_GETFL)
    _ = fcntl(own, F_SETFL, flags & ~Int32(O_NONBLOCK))
    let now = monotonicNanoseconds()
    guard now < deadline else {
      close(own)
      return .failure(.timeout)
    }
    setTimeouts(own, nanoseconds: deadline - now)  // the handshake: the rest of the deadline
    let stream: TLSClientStream
    do throws(TLSStreamError) {
      var options = TLSClientOptions(serverName: isIPLiteral(url.host) ? nil : url.host, verifyPeerName: url.host)
      trust.apply(to: &options)
      stream = try TLSClientStream(fileDescriptor: own, options: options)
    } catch {
      return .failure(error == .timedOut ? .timeout : .unreachable)
    }
    setTimeouts(own, nanoseconds: UInt64(HTTPClient.pollSliceMilliseconds) * 1_000_000)
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: request.count, alignment: 1)
    defer { buffer.deallocate() }
    buffer.copyBytes(from: request)
    do throws(TLSStreamError) {
      try stream.write(UnsafeRawBufferPointer(buffer))
    } catch {
      return .failure(error == .timedOut ? .timeout : .unreachable)
    }
    return readAnswer(isHead: isHead) { buffer in
      while true {
        do throws(TLSStreamError) {
          let n = try stream.read(into: buffer)
          return n > 0 ? .bytes(n) : .end
        } catch .timedOut {
          if monotonicNanoseconds() >= deadline { return .failed(.timeout) }
          if stop() { return .failed(.stopped) }
        } catch {
          return .failed(.unreachable)
        }
      }
    }
  }

  private func setTimeouts(_ fd: Int32, nanoseconds: UInt64) {
    var tv = timeval(tv_sec: Int(nanoseconds / 1_000_000_000), tv_usec: Int(nanoseconds % 1_000_000_000 / 1000))
    if tv.tv_sec == 0 && tv.tv_usec == 0 { tv.tv_usec = 1000 }
    _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
  }

  private func isIPLiteral(_ host: String) -> Bool {
    var address = in6_addr()
    return host.withCString { inet_pton(AF_INET, $0, &address) == 1 || inet_pton(AF_INET6, $0, &address) == 1 }
  }
}
