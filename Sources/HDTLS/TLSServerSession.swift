// One server-side TLS connection driven entirely by the caller: ciphertext in
// through a memory BIO, ciphertext out through another (byte FIFOs that never
// zero-fill, see CTLS/fifo_bio.c; received ciphertext can be lent, not copied). It never blocks and
// never touches the socket, so a worker's event loop can run many handshakes
// at once and io_uring moves the bytes. Nothing here allocates per record.
internal import CTLS

/// Progress of `TLSServerSession.handshake()`.
public enum TLSHandshakeStep: Equatable, Sendable {
  /// Feed more ciphertext (after sending any pending output).
  case needMore
  /// Handshake complete; application data may flow.
  case done
  case failed(TLSFailureReason)
}

/// Outcome of `TLSServerSession.read(into:)`.
public enum TLSReadResult: Equatable, Sendable {
  /// Plaintext bytes written to the buffer (one record's worth at most).
  case data(Int)
  /// No complete record buffered: feed more ciphertext.
  case needMore
  /// The peer sent close_notify.
  case closed
  case failed(TLSFailureReason)
}

/// A server TLS session over memory BIOs. A value holding OpenSSL handles:
/// exactly one owner calls `free()` once; copies must not outlive it.
public struct TLSServerSession {
  let ssl: OpaquePointer
  let networkIn: OpaquePointer
  let networkOut: OpaquePointer
  let state: UnsafeMutablePointer<SessionRecordState>

  /// A session on `context` (which it keeps alive: SSL_new up-refs the SSL_CTX).
  public init(context: TLSServerContext) throws(TLSContextError) {
    guard let ssl = SSL_new(context.handle) else {
      throw TLSContextError(.openSSL, "SSL_new: " + OpenSSLErrorQueue.drainText(fallback: "failed"))
    }
    guard let input = ctls_fifo_bio_new() else {
      SSL_free(ssl)
      throw TLSContextError(.openSSL, "BIO_new: out of memory")
    }
    guard let output = ctls_fifo_bio_new() else {
      BIO_free(input)
      SSL_free(ssl)
      throw TLSContextError(.openSSL, "BIO_new: out of memory")
    }
    SSL_set_bio(ssl, input, output)  // the SSL owns both BIOs from here
    SSL_set_accept_state(ssl)
    self.ssl = ssl
    self.networkIn = input
    self.networkOut = output
    self.state = SessionRecordState.allocate()
    SessionRecordState.attach(state, to: ssl)
  }

  /// Frees the OpenSSL session and the per-connection state.
  public func free() {
    SSL_free(ssl)
    SessionRecordState.deallocate(state)
  }

  // MARK: ciphertext in and out

  /// Hands ciphertext received from the peer to the session. False only
  /// when OpenSSL is out of memory. Bad framing shows up in the next
  /// `handshake()`/`read(into:)` once the good records before it are used.
  @discardableResult
  public func feed(_ ciphertext: UnsafeRawBufferPointer) -> Bool {
    guard ciphertext.count > 0 else { return true }
    state.pointee.framing.consume(ciphertext)
    // A memory BIO grows to take everything; a short write means no memory.
    let written = BIO_write(networkIn, ciphertext.baseAddress, Int32(ciphertext.count))
    return written == Int32(ciphertext.count)
  }

  /// Lends received ciphertext to the session without copying it: reads
  /// (`handshake()`, `read(into:)`) take it after anything fed before. Call
  /// `takeBackLentInput()` before the bytes are reused.
  public func lend(_ ciphertext: UnsafeRawBufferPointer) {
    guard ciphertext.count > 0 else { return }
    state.pointee.framing.consume(ciphertext)
    ctls_fifo_bio_lend(networkIn, ciphertext.baseAddress, ciphertext.count)
  }

  /// Copies what the session has not read of the lent ciphertext into its
  /// own buffer. False only when out of memory (the connection must close).
  public func takeBackLentInput() -> Bool {
    ctls_fifo_bio_take_back(networkIn) != 0
  }

  /// Gives back OpenSSL's record buffers and the FIFOs' storage (~65 KiB per
  /// connection) once the records are someone else's (the worker's record
  /// layer): the session then only holds what `free()` releases. Reading or
  /// writing through it afterwards would allocate them again. False when
  /// something is still buffered (nothing is released then).
  @discardableResult
  public func releaseRecordBuffers() -> Bool {
    guard bufferedInputBytes == 0, pendingOutputBytes == 0, SSL_free_buffers(ssl) == 1 else { return false }
    return ctls_fifo_bio_release_storage(networkIn) == 1 && ctls_fifo_bio_release_storage(networkOut) == 1
  }

  /// Ciphertext waiting to be sent to the peer.
  public var pendingOutputBytes: Int { ctls_bio_pending(networkOut) }

  /// Moves up to `buffer.count` bytes of pending ciphertext into `buffer`.
  public func takeOutput(into buffer: UnsafeMutableRawBufferPointer) -> Int {
    guard buffer.count > 0, pendingOutputBytes > 0 else { return 0 }
    let n = BIO_read(networkOut, buffer.baseAddress, Int32(clamping: buffer.count))
    return n > 0 ? Int(n) : 0
  }

  /// Ciphertext fed in but not yet consumed by OpenSSL.
  public var bufferedInputBytes: Int { ctls_bio_pending(networkIn) }

  /// How many bytes complete the record in progress (or the next header).
  /// Reading at most this many bytes per recv during the handshake keeps
  /// the connection's input at a record boundary when the handshake ends.
  public var bytesToRecordBoundary: Int { state.pointee.framing.bytesToNextBoundary }

  /// True when all ciphertext fed in has been consumed by OpenSSL and ended
  /// on a record boundary: the socket's next byte starts a new record.
  public var inputAtRecordBoundary: Bool { bufferedInputBytes == 0 && state.pointee.framing.isAtRecordBoundary }

  /// Non-nil once the fed bytes are not valid TLS framing (somewhere ahead;
  /// the records before the bad one are still delivered).
  public var framingFailure: TLSFailureReason? {
    switch state.pointee.framing.verdict {
    case .ok: return nil
    case .notTLS: return .notTLS
    case .malformedHeader: return .protocolError
    case .recordOverflow: return .recordOverflow
    }
  }

  /// The framing failure once OpenSSL has consumed everything before the bad
  /// record, i.e. when the next thing to process is the bad record itself.
  private var framingFailureReached: TLSFailureReason? {
    guard let failure = framingFailure else { return nil }
    let consumed = state.pointee.framing.bytesConsumed - bufferedInputBytes
    return consumed >= state.pointee.framing.failureOffset ? failure : nil
  }

  // MARK: handshake

  /// Runs the handshake as far as the buffered input allows. Send
  /// `pendingOutputBytes` after every call, whatever the result.
  public func handshake() -> TLSHandshakeStep {
    if let failure = framingFailureReached { return .failed(failure) }
    ERR_clear_error()
    let rc = SSL_do_handshake(ssl)
    if rc == 1 {
      state.pointee.recordsWrittenAtHandshakeDone = state.pointee.recordsWritten
      state.pointee.recordsReadAtHandshakeDone = state.pointee.recordsRead
      return .done
    }
    switch classify(rc) {
    case .retry: return framingFailure.map { .failed($0) } ?? .needMore
    case .closed: return .failed(.peerClosed)
    case .failed(let reason): return .failed(framingFailure ?? reason)
    }
  }

  public var isHandshakeDone: Bool { SSL_is_init_finished(ssl) == 1 }

  /// The negotiated version once the handshake is done.
  public var version: TLSVersion? { TLSVersion(openSSLNumber: SSL_version(ssl)) }

  /// OpenSSL's name of the negotiated cipher suite (e.g. TLS_AES_128_GCM_SHA256).
  public var cipherName: String {
    guard let cipher = SSL_get_current_cipher(ssl), let name = SSL_CIPHER_get_name(cipher) else { return "" }
    return String(cString: name)
  }

  // MARK: application data

  /// Decrypts the next buffered record into `buffer`. With a buffer of at
  /// least 16 KiB one call returns one whole record. Send pending output
  /// afterwards too: TLS 1.3 KeyUpdate makes OpenSSL answer.
  public func read(into buffer: UnsafeMutableRawBufferPointer) -> TLSReadResult {
    if let failure = framingFailureReached { return .failed(failure) }
    guard buffer.count > 0 else { return .data(0) }
    ERR_clear_error()
    let rc = SSL_read(ssl, buffer.baseAddress, Int32(clamping: buffer.count))
    if rc > 0 { return .data(Int(rc)) }
    switch classify(rc) {
    case .retry: return framingFailure.map { .failed($0) } ?? .needMore
    case .closed: return .closed
    case .failed(let reason): return .failed(framingFailure ?? reason)
    }
  }

  /// Encrypts `plaintext` into pending output (as records of ≤ 16 KiB).
  /// False when the session is broken; the connection must close.
  public func write(_ plaintext: UnsafeRawBufferPointer) -> Bool {
    guard plaintext.count > 0 else { return true }
    ERR_clear_error()
    let rc = SSL_write(ssl, plaintext.baseAddress, Int32(clamping: plaintext.count))
    return rc == Int32(clamping: plaintext.count)
  }

  /// Queues a close_notify alert in the pending output.
  public func shutdown() {
    ERR_clear_error()
    _ = SSL_shutdown(ssl)
    ERR_clear_error()
  }

  /// True once our close_notify has been queued.
  public var sentCloseNotify: Bool { SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN != 0 }

  /// The last alert description the peer sent (0 = close_notify), or nil.
  public var lastAlertReceived: UInt8? {
    let alert = state.pointee.lastAlertReceived
    return alert < 0 ? nil : UInt8(alert)
  }

  // MARK: error classification

  private enum Outcome {
    case retry
    case closed
    case failed(TLSFailureReason)
  }

  private func classify(_ rc: Int32) -> Outcome {
    switch SSL_get_error(ssl, rc) {
    case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
      return .retry
    case SSL_ERROR_ZERO_RETURN:
      return .closed
    case SSL_ERROR_SSL:
      return .failed(TLSFailureReason.fromOpenSSLReason(OpenSSLErrorQueue.takeFirstReason()))
    default:
      ERR_clear_error()
      return .failed(.internalError)
    }
  }
}

extension TLSServerSession {
  /// The record keys and next sequence numbers for kernel TLS (server TX =
  /// server write key). Call when the handshake is done, every received
  /// byte has been consumed at a record boundary (read whole records first)
  /// and all pending output has been sent. After installing them in the
  /// kernel, do no more I/O through this session: `free()` it.
  public func kernelKeys() -> Result<SessionTrafficKeys, KernelTLSIneligibility> {
    guard isHandshakeDone else { return .failure(.handshakeNotDone) }
    guard inputAtRecordBoundary else { return .failure(.inputNotAtRecordBoundary) }
    guard pendingOutputBytes == 0 else { return .failure(.outputPending) }
    return TrafficKeyDerivation.derive(ssl: ssl, state: state, isServer: true)
  }
}
