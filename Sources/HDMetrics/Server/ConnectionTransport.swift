import CTLS

// Reads and writes of one metrics connection, plain or TLS, always
// non-blocking: the loop waits in poll(2) for whatever the transport wants.
#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

enum TransportResult: Equatable {
  case transferred(Int)
  /// Try again once the socket is readable (`wantsWrite` false) or writable.
  case wouldBlock(wantsWrite: Bool)
  /// Orderly end of the stream.
  case closed
  case failed
}

final class ConnectionTransport {
  let fd: Int32
  private let ssl: OpaquePointer?
  /// False until the TLS handshake is done; always true for plain TCP.
  private(set) var isEstablished: Bool

  init(fd: Int32, tls: MetricsTLSContext?) {
    self.fd = fd
    if let tls, let ssl = SSL_new(tls.context) {
      SSL_set_fd(ssl, fd)
      SSL_set_accept_state(ssl)
      self.ssl = ssl
      isEstablished = false
    } else {
      // SSL_new only fails on allocation failure; `tls == nil` is plain TCP.
      ssl = nil
      isEstablished = tls == nil
    }
  }

  /// Whether this connection is usable at all (SSL_new succeeded when TLS is on).
  var isUsable: Bool { ssl != nil || isEstablished }

  /// Advances the TLS handshake; `.transferred(0)` once it is complete.
  func handshake() -> TransportResult {
    guard let ssl, !isEstablished else { return .transferred(0) }
    let rc = SSL_do_handshake(ssl)
    if rc == 1 {
      isEstablished = true
      return .transferred(0)
    }
    return sslFailure(ssl, rc)
  }

  func read(into buffer: UnsafeMutableRawBufferPointer) -> TransportResult {
    if let ssl {
      let rc = SSL_read(ssl, buffer.baseAddress, Int32(buffer.count))
      return rc > 0 ? .transferred(Int(rc)) : sslFailure(ssl, rc)
    }
    while true {
      let count = Glibc.read(fd, buffer.baseAddress, buffer.count)
      if count > 0 { return .transferred(count) }
      if count == 0 { return .closed }
      if errno == EINTR { continue }
      return errno == EAGAIN || errno == EWOULDBLOCK ? .wouldBlock(wantsWrite: false) : .failed
    }
  }

  func write(_ buffer: UnsafeRawBufferPointer) -> TransportResult {
    if let ssl {
      let rc = SSL_write(ssl, buffer.baseAddress, Int32(buffer.count))
      return rc > 0 ? .transferred(Int(rc)) : sslFailure(ssl, rc)
    }
    while true {
      // MSG_NOSIGNAL: a client that went away must not SIGPIPE the daemon.
      let count = send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
      if count >= 0 { return .transferred(count) }
      if errno == EINTR { continue }
      return errno == EAGAIN || errno == EWOULDBLOCK ? .wouldBlock(wantsWrite: true) : .failed
    }
  }

  /// Sends close_notify when the session is up (best effort), frees the
  /// session and closes the socket.
  func close() {
    if let ssl {
      if isEstablished { SSL_shutdown(ssl) }
      SSL_free(ssl)
    }
    Glibc.close(fd)
  }

  private func sslFailure(_ ssl: OpaquePointer, _ rc: Int32) -> TransportResult {
    let code = SSL_get_error(ssl, rc)
    // A failed or aborted session leaves entries in this thread's error queue;
    // clear them so they don't show up in an unrelated later error message.
    defer { ERR_clear_error() }
    switch code {
    case SSL_ERROR_WANT_READ: return .wouldBlock(wantsWrite: false)
    case SSL_ERROR_WANT_WRITE: return .wouldBlock(wantsWrite: true)
    case SSL_ERROR_ZERO_RETURN: return .closed
    default: return .failed
    }
  }
}
