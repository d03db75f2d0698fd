// An HTTP/1.1 POST (http:// or https://) with an overall deadline, for the
// verifier threads only (it blocks its thread, never a worker). Plain HTTP:
// non-blocking socket + poll, so connect, write and read share one deadline
// and notice a relay stop within a poll slice. HTTPS: the same connect, then
// OpenSSL on the socket with receive timeouts of one poll slice, so the read
// loop checks the deadline and the stop request just as often; the
// controller's certificate must chain to the trust store and name the URL's
// host (node keys and client addresses go to it). The body is read up to
// 4 KiB, as derper does.
@preconcurrency import Glibc
import CURing
import HDConfig
import HDProtocol
import HDTLS

struct VerifyHTTPClient {
  let url: HTTPURL
  /// Trusted CAs for https:// controllers (tls_ca_file, else OpenSSL's default verify paths).
  var trust: TLSTrust = .openSSLDefaults
  /// Largest response body read (derper: io.LimitReader 4 KiB).
  static let bodyBytesMax = 4096
  /// Largest status line + headers accepted.
  static let headBytesMax = 16 * 1024
  /// Poll slice: how soon a stop request is noticed.
  static let pollSliceMilliseconds: Int32 = 100

  /// POSTs `body`; answers by `deadlineNanoseconds` (monotonic) or `stop()`.
  func post(_ body: [UInt8], deadlineNanoseconds: UInt64, stop: () -> Bool) -> VerifyOutcome {
    var hints = addrinfo()
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    hints.ai_family = AF_UNSPEC
    var list: UnsafeMutablePointer<addrinfo>? = nil
    // Name resolution blocks outside the deadline (getaddrinfo has no timeout);
    // the relay's deployments point this at a literal or a local name.
    guard getaddrinfo(url.host, String(url.port), &hints, &list) == 0, let first = list else {
      return .failed(.unreachable)
    }
    defer { freeaddrinfo(list) }
    var lastFailure = VerifyError.unreachable
    var candidate: UnsafeMutablePointer<addrinfo>? = first
    while let ai = candidate {
      candidate = ai.pointee.ai_next
      let fd = socket(ai.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
      guard fd >= 0 else { continue }
      defer { close(fd) }
      switch connectSocket(fd, ai, deadlineNanoseconds, stop) {
      case .failed(let why):
        lastFailure = why
        if why == .timeout { return .failed(.timeout) }
        continue
      default:
        return url.isHTTPS ? exchangeTLS(fd, body, deadlineNanoseconds, stop) : exchange(fd, body, deadlineNanoseconds, stop)
      }
    }
    return .failed(lastFailure)
  }

  private func connectSocket(_ fd: Int32, _ ai: UnsafeMutablePointer<addrinfo>, _ deadline: UInt64, _ stop: () -> Bool) -> VerifyOutcome {
    if connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 { return .allowed }
    guard errno == EINPROGRESS else { return .failed(.unreachable) }
    if let why = wait(fd, Int16(POLLOUT), deadline, stop) { return .failed(why) }
    var error: Int32 = 0
    var length = socklen_t(MemoryLayout<Int32>.size)
    guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0, error == 0 else { return .failed(.unreachable) }
    return .allowed  // "connected": the caller goes on with the exchange
  }

  /// Waits until `fd` is ready for `events`; nil when ready, else why not.
  private func wait(_ fd: Int32, _ events: Int16, _ deadline: UInt64, _ stop: () -> Bool) -> VerifyError? {
    while true {
      let now = monotonicNanoseconds()
      if now >= deadline { return .timeout }
      if stop() { return .unreachable }
      let leftMilliseconds = Int32(min(UInt64(VerifyHTTPClient.pollSliceMilliseconds), (deadline - now + 999_999) / 1_000_000))
      var p = pollfd(fd: fd, events: events, revents: 0)
      let n = poll(&p, 1, leftMilliseconds)
      if n > 0 { return nil }  // ready, or an error the next call reports
      if n < 0 && errno != EINTR { return .unreachable }
    }
  }

  private func requestBytes(_ body: [UInt8]) -> [UInt8] {
    let head = "POST \(url.pathAndQuery) HTTP/1.1\r\nHost: \(url.hostHeader)\r\nUser-Agent: hyper-derp\r\n"
      + "Content-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
    return Array(head.utf8) + body
  }

  /// One read of the answer: bytes, end of stream, or why the exchange failed.
  private enum Chunk {
    case bytes(Int)
    case end
    case failed(VerifyError)
  }

  /// Reads until the answer is complete (or too large, or the stream ends),
  /// then decides.
  private func readAnswer(_ readChunk: (UnsafeMutableRawBufferPointer) -> Chunk) -> VerifyOutcome {
    var response: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    var parsed: HTTPResponseHead? = nil
    reading: while true {
      if parsed == nil, let head = HTTPResponseHead(response) {
        parsed = head
      }
      if let head = parsed, head.bodyComplete(in: response) { break }
      if response.count > VerifyHTTPClient.headBytesMax + VerifyHTTPClient.bodyBytesMax { break }
      switch chunk.withUnsafeMutableBytes(readChunk) {
      case .bytes(let n): response += chunk[0..<n]
      case .end: break reading  // closed: whatever arrived is the answer
      case .failed(let why): return .failed(why)
      }
    }
    guard let head = parsed ?? HTTPResponseHead(response) else { return .failed(.unreachable) }
    guard head.status == 200 else { return .failed(.badStatus) }
    guard let payload = head.body(in: response) else { return .failed(.badResponse) }
    return VerifyHTTPClient.decide(Array(payload.prefix(VerifyHTTPClient.bodyBytesMax)))
  }

  private func exchange(_ fd: Int32, _ body: [UInt8], _ deadline: UInt64, _ stop: () -> Bool) -> VerifyOutcome {
    let request = requestBytes(body)
    var sent = 0
    while sent < request.count {
      let n = request.withUnsafeBytes { send(fd, $0.baseAddress! + sent, request.count - sent, Int32(MSG_NOSIGNAL)) }
      if n > 0 { sent += n; continue }
      guard n < 0 && (errno == EAGAIN || errno == EINTR) else { return .failed(.unreachable) }
      if let why = wait(fd, Int16(POLLOUT), deadline, stop) { return .failed(why) }
    }
    return readAnswer { buffer in
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
  private func exchangeTLS(_ fd: Int32, _ body: [UInt8], _ deadline: UInt64, _ stop: () -> Bool) -> VerifyOutcome {
    // The stream owns (and closes) its descriptor; post() closes the original.
    let own = dup(fd)
    guard own >= 0 else { return .failed(.unreachable) }
    let flags = fcntl(own, F_GETFL)
    _ = fcntl(own, F_SETFL, flags & ~Int32(O_NONBLOCK))
    let now = monotonicNanoseconds()
    guard now < deadline else {
      close(own)
      return .failed(.timeout)
    }
    setTimeouts(own, nanoseconds: deadline - now)  // the handshake: the rest of the deadline
    let stream: TLSClientStream
    do throws(TLSStreamError) {
      var options = TLSClientOptions(serverName: isIPLiteral(url.host) ? nil : url.host, verifyPeerName: url.host)
      trust.apply(to: &options)
      stream = try TLSClientStream(fileDescriptor: own, options: options)
    } catch {
      return .failed(error == .timedOut ? .timeout : .unreachable)
    }
    setTimeouts(own, nanoseconds: UInt64(VerifyHTTPClient.pollSliceMilliseconds) * 1_000_000)
    let request = requestBytes(body)
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: request.count, alignment: 1)
    defer { buffer.deallocate() }
    buffer.copyBytes(from: request)
    do throws(TLSStreamError) {
      try stream.write(UnsafeRawBufferPointer(buffer))
    } catch {
      return .failed(error == .timedOut ? .timeout : .unreachable)
    }
    return readAnswer { buffer in
      while true {
        do throws(TLSStreamError) {
          let n = try stream.read(into: buffer)
          return n > 0 ? .bytes(n) : .end
        } catch .timedOut {
          if monotonicNanoseconds() >= deadline { return .failed(.timeout) }
          if stop() { return .failed(.unreachable) }
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

  /// `{"Allow":true}` → allowed, `{"Allow":false}` → denied (Go's case-insensitive field match).
  static func decide(_ body: [UInt8]) -> VerifyOutcome {
    guard let value = try? JSONValue.parse(body), case .object(let fields) = value,
      case .bool(let allow)? = JSONValue.field(fields, "Allow")
    else {
      // A missing Allow decodes to false in derper (a denial), but a body that is
      // not a JSON object at all is an error.
      if let value = try? JSONValue.parse(body), case .object(let fields) = value,
        JSONValue.field(fields, "Allow") == nil
      {
        return .denied
      }
      return .failed(.badResponse)
    }
    return allow ? .allowed : .denied
  }
}
