// One client connection of the metrics server: TLS handshake (if any), read a
// request head, answer it, repeat while keep-alive holds. Everything happens
// on the server thread; `service()` never blocks.

/// What the connection answers a request with; the router provides it.
typealias RequestHandler = (HTTPRequestHead) -> HTTPResponse

/// Limits that keep one client from holding the server.
struct ConnectionLimits {
  /// Time for the TLS handshake plus a complete request head, and the idle
  /// time allowed between keep-alive requests.
  var readTimeoutNanoseconds: UInt64 = 10_000_000_000
  /// Time to deliver one response to a slow reader.
  var writeTimeoutNanoseconds: UInt64 = 10_000_000_000
  var parser = HTTPRequestParser()
}

final class HTTPConnection {
  enum Phase {
    case handshaking
    case reading
    case writing(closeAfter: Bool)
    case closed
  }

  let transport: ConnectionTransport
  private(set) var phase: Phase
  /// When the current phase must be over (CLOCK_MONOTONIC nanoseconds).
  private(set) var deadlineNanoseconds: UInt64
  /// The direction the transport waits for (TLS may want to write while reading).
  private(set) var waitsForWrite = false
  private let limits: ConnectionLimits
  private var input: [UInt8] = []
  private var output: [UInt8] = []
  private var outputOffset = 0
  /// Status of every response sent, for the server's own request counters.
  private let onResponse: (HTTPStatus) -> Void

  init(
    transport: ConnectionTransport, limits: ConnectionLimits, now: UInt64, onResponse: @escaping (HTTPStatus) -> Void
  ) {
    self.transport = transport
    self.limits = limits
    self.onResponse = onResponse
    phase = transport.isEstablished ? .reading : .handshaking
    deadlineNanoseconds = now + limits.readTimeoutNanoseconds
  }

  var isClosed: Bool {
    if case .closed = phase { return true }
    return false
  }

  /// Does all the work that is possible without blocking.
  func service(now: UInt64, handler: RequestHandler) {
    while true {
      switch phase {
      case .closed:
        return
      case .handshaking:
        switch transport.handshake() {
        case .transferred:
          phase = .reading
        case .wouldBlock(let wantsWrite):
          waitsForWrite = wantsWrite
          return
        case .closed, .failed:
          close()
          return
        }
      case .reading:
        if !answerBufferedRequest(now: now, handler: handler) {
          guard readMore() else { return }
        }
      case .writing(let closeAfter):
        guard flushOutput() else { return }
        if closeAfter {
          close()
          return
        }
        phase = .reading
        deadlineNanoseconds = now + limits.readTimeoutNanoseconds
      }
    }
  }

  /// Called when the deadline passed: a client stuck mid-request gets 408
  /// (one non-blocking attempt), everyone else is just closed.
  func expire() {
    if case .reading = phase, !input.isEmpty, transport.isEstablished {
      let response = HTTPResponse.text(.requestTimeout, "request head not received in time")
      onResponse(.requestTimeout)
      let bytes = response.serialized(includeBody: true, keepAlive: false)
      _ = bytes.withUnsafeBytes { transport.write($0) }
    }
    close()
  }

  func close() {
    if case .closed = phase { return }
    phase = .closed
    transport.close()
  }

  /// Parses a complete head out of `input` and queues the answer; false when
  /// more bytes are needed.
  private func answerBufferedRequest(now: UInt64, handler: RequestHandler) -> Bool {
    guard !input.isEmpty else { return false }
    let response: HTTPResponse
    let includeBody: Bool
    let keepAlive: Bool
    do {
      switch try limits.parser.parse(input[...]) {
      case .incomplete:
        return false
      case .complete(let head, let consumed):
        input.removeFirst(consumed)
        response = handler(head)
        includeBody = head.method != "HEAD"
        // A body we don't read would be parsed as the next request: close instead.
        keepAlive = head.keepAlive && !head.hasBody
      }
    } catch {
      response = HTTPResponse.text(error.status, errorMessage(error))
      includeBody = true
      keepAlive = false
      input.removeAll()
    }
    onResponse(response.status)
    output = response.serialized(includeBody: includeBody, keepAlive: keepAlive)
    outputOffset = 0
    phase = .writing(closeAfter: !keepAlive)
    deadlineNanoseconds = now + limits.writeTimeoutNanoseconds
    return true
  }

  /// Reads what the socket has; false when the loop must wait (or closed).
  private func readMore() -> Bool {
    // Never buffer more than a maximal head plus one read: the parser rejects
    // anything longer, so extra bytes could only be an attack on memory.
    let room = limits.parser.maxHeadBytes + 4096 - input.count
    guard room > 0 else { return true }
    var chunk = [UInt8](repeating: 0, count: min(room, 4096))
    let result = chunk.withUnsafeMutableBytes { transport.read(into: $0) }
    switch result {
    case .transferred(let count):
      input += chunk[0..<count]
      return true
    case .wouldBlock(let wantsWrite):
      waitsForWrite = wantsWrite
      return false
    case .closed, .failed:
      close()
      return false
    }
  }

  /// Writes pending output; true once all of it is written.
  private func flushOutput() -> Bool {
    while outputOffset < output.count {
      let result = output.withUnsafeBytes { transport.write(UnsafeRawBufferPointer(rebasing: $0[outputOffset...])) }
      switch result {
      case .transferred(let count):
        outputOffset += count
      case .wouldBlock(let wantsWrite):
        waitsForWrite = wantsWrite
        return false
      case .closed, .failed:
        close()
        return false
      }
    }
    output = []
    outputOffset = 0
    return true
  }

  private func errorMessage(_ error: HTTPRequestError) -> String {
    switch error {
    case .malformed(let why): return "bad request: \(why)"
    case .headTooLarge: return "request head larger than \(limits.parser.maxHeadBytes) bytes"
    case .versionNotSupported: return "only HTTP/1.0 and HTTP/1.1 are supported"
    }
  }
}
