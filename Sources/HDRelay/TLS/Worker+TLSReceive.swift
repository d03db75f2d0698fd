// Userspace TLS, receive side: ciphertext from the recv is lent to the
// connection's memory-BIO session (OpenSSL reads it straight from the receive
// buffer; what it leaves is copied before the buffer goes back to the kernel);
// the handshake advances inside the worker loop; whole records are decrypted
// into the worker's scratch and handed to the same plaintext path a plain
// connection uses.
@preconcurrency import Glibc
import HDTLS

extension Worker {
  /// Largest plaintext one record carries (2^14), plus slack for OpenSSL.
  static let tlsRecordPlaintextBytesMax = 16_384 + 256

  /// Makes a new connection a TLS one. False when no session could be made.
  func admitTLS(_ conn: UnsafeMutablePointer<Connection>, _ tls: RelayTLS) -> Bool {
    guard let session = try? TLSServerSession(context: tls.currentContext) else { return false }
    conn.pointee.tls = TLSConnection.allocate(session: session)
    conn.pointee.transport = .userspaceTLS
    return true
  }

  /// The transport seam for a userspace-TLS connection's received ciphertext.
  func receiveTLS(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ bytes: UnsafeMutableRawPointer, _ count: Int) {
    guard let tls = conn.pointee.tls else { return }
    if tls.pointee.phase == .records { return receiveRecords(slot, conn, tls, bytes, count) }
    let session = tls.pointee.session
    session.lend(UnsafeRawBufferPointer(start: bytes, count: count))
    consumeTLSInput(slot, conn, tls)
    // The receive buffer is recycled after this returns: the session keeps a
    // copy of what it has not read (nothing, unless it stopped mid-buffer). A
    // connection closed meanwhile may have freed its session with the loan.
    guard let current = conn.pointee.tls, current == tls else { return }
    if !session.takeBackLentInput() && conn.pointee.state != .closing {
      failTLS(slot, conn, .internalError)
    }
  }

  /// Advances the handshake and decrypts what the session holds.
  private func consumeTLSInput(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>,
                               _ tls: UnsafeMutablePointer<TLSConnection>) {
    let session = tls.pointee.session
    if tls.pointee.phase == .handshaking {
      switch session.handshake() {
      case .needMore:
        shipTLSOutput(slot, conn)
        return
      case .failed(let reason):
        return failTLS(slot, conn, reason)
      case .done:
        onTLSHandshakeDone(slot, conn, tls)
      }
    }
    decryptRecords(slot, conn)
  }

  private func onTLSHandshakeDone(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ tls: UnsafeMutablePointer<TLSConnection>) {
    let counters = tlsStats
    counters?.add(tls.pointee.session.version == .tls12 ? .handshakesTLS12 : .handshakesTLS13)
    tls.pointee.phase = .userspace
    tls.pointee.recordsEligible = tls.pointee.session.cipherIsKernelCapable
    if shared.tls?.dataPath == .kernel {
      if tls.pointee.session.cipherIsKernelCapable {
        // Stop the multishot recv: once its last completion is in, every byte
        // read from the socket is in the session and the kernel can take over.
        tls.pointee.phase = .switchPending
        if conn.pointee.flags.contains(.recvArmed) { cancelRecv(slot, conn) }
      } else {
        counters?.add(.kernelFallbackCipher)
      }
    }
    shipTLSOutput(slot, conn)
  }

  /// Decrypts every whole record buffered in the session.
  func decryptRecords(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>) {
    guard let tls = conn.pointee.tls else { return }
    let session = tls.pointee.session
    // The worker's scratch: a temporary buffer this size would come from the heap.
    let buffer = memory.tlsReadScratch
    while conn.pointee.state != .closing && conn.pointee.state != .free {
      switch session.read(into: buffer) {
      case .data(let n):
        receivePlaintext(slot, conn, buffer.baseAddress!, n)
      case .needMore:
        // TLS 1.3 KeyUpdate and the like leave an answer to send.
        if session.pendingOutputBytes > 0 { shipTLSOutput(slot, conn) }
        // Run dry at a record boundary: the worker's record layer can take over.
        trySwitchToRecords(slot, conn)
        return
      case .closed:
        tlsStats?.add(.userspaceCloseNotify)
        session.shutdown()  // answer with our close_notify, best effort
        shipTLSOutput(slot, conn)
        beginClose(slot, reason: .peerClosed)
        return
      case .failed:
        tlsStats?.add(.userspaceRecordErrors)
        stats.add(.protocolErrors)
        beginClose(slot, reason: .protocolError)
        return
      }
    }
  }

  /// Counts a failed TLS handshake (or a broken session) and closes.
  func failTLS(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ reason: TLSFailureReason) {
    tlsStats?.failed(reason)
    // OpenSSL may have queued an alert for the client; it goes out if the
    // socket takes it right away, the connection closes regardless.
    if let tls = conn.pointee.tls { sendTLSOutputNow(conn, tls.pointee.session) }
    beginClose(slot, reason: .protocolError)
  }

  /// This worker's TLS counters (nil without TLS).
  var tlsStats: TLSWorkerStats? {
    guard let tls = shared.tls, index < tls.workerStats.count else { return nil }
    return tls.workerStats[index]
  }

  /// Frees a closing connection's TLS state (from finishCloseIfIdle).
  func releaseTLS(_ conn: UnsafeMutablePointer<Connection>) {
    guard let tls = conn.pointee.tls else { return }
    releaseRecords(tls)
    tls.pointee.session.free()
    if let block = tls.pointee.staging { memory.freeLargeBlock(block) }
    tls.deinitialize(count: 1)
    tls.deallocate()
    conn.pointee.tls = nil
  }

  /// Counts a TLS-handshake timeout or hang-up (from beginClose).
  func noteTLSSetupEnd(_ conn: UnsafeMutablePointer<Connection>, reason: CloseReason) {
    guard let tls = conn.pointee.tls, tls.pointee.phase == .handshaking else { return }
    switch reason {
    case .handshakeFailed: tlsStats?.failed(.timeout)
    case .peerClosed: tlsStats?.failed(.peerClosed)
    default: break
    }
  }
}

extension TLSServerSession {
  /// AES-GCM: a cipher Linux kernel TLS can run.
  var cipherIsKernelCapable: Bool {
    let name = cipherName
    return name.contains("AES128-GCM") || name.contains("AES256-GCM") || name == "TLS_AES_128_GCM_SHA256"
      || name == "TLS_AES_256_GCM_SHA384"
  }
}
