// A plain HTTP/1.1 POST with an overall deadline, for the verifier threads
// only (it blocks its thread, never a worker). Non-blocking socket + poll so
// connect, write and read all share one deadline and notice a relay stop
// within a poll slice. The body is read up to 4 KiB, as derper does.
@preconcurrency import Glibc
import CURing
import HDConfig
import HDProtocol

struct VerifyHTTPClient {
  let url: HTTPURL
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
        return exchange(fd, body, deadlineNanoseconds, stop)
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

  private func exchange(_ fd: Int32, _ body: [UInt8], _ deadline: UInt64, _ stop: () -> Bool) -> VerifyOutcome {
    let head = "POST \(url.pathAndQuery) HTTP/1.1\r\nHost: \(url.hostHeader)\r\nUser-Agent: hyper-derp\r\n"
      + "Content-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
    let request = Array(head.utf8) + body
    var sent = 0
    while sent < request.count {
      let n = request.withUnsafeBytes { send(fd, $0.baseAddress! + sent, request.count - sent, Int32(MSG_NOSIGNAL)) }
      if n > 0 { sent += n; continue }
      guard n < 0 && (errno == EAGAIN || errno == EINTR) else { return .failed(.unreachable) }
      if let why = wait(fd, Int16(POLLOUT), deadline, stop) { return .failed(why) }
    }
    var response: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    var parsed: HTTPResponseHead? = nil
    while true {
      if parsed == nil, let head = HTTPResponseHead(response) {
        parsed = head
      }
      if let head = parsed, head.bodyComplete(in: response) { break }
      if response.count > VerifyHTTPClient.headBytesMax + VerifyHTTPClient.bodyBytesMax { break }
      let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
      if n > 0 { response += chunk[0..<n]; continue }
      if n == 0 { break }  // closed: whatever arrived is the answer
      guard errno == EAGAIN || errno == EINTR else { return .failed(.unreachable) }
      if let why = wait(fd, Int16(POLLIN), deadline, stop) { return .failed(why) }
    }
    guard let head = parsed ?? HTTPResponseHead(response) else { return .failed(.unreachable) }
    guard head.status == 200 else { return .failed(.badStatus) }
    guard let payload = head.body(in: response) else { return .failed(.badResponse) }
    return VerifyHTTPClient.decide(Array(payload.prefix(VerifyHTTPClient.bodyBytesMax)))
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
