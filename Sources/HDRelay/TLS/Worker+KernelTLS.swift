// The switch from userspace to kernel TLS after the handshake, and the
// kernel-TLS receive path's non-data records.
//
// Ciphertext already read past the handshake: the multishot recv is cancelled
// when the handshake completes; every byte it delivered before its last
// completion is fed to the session and decrypted in userspace (one record per
// SSL_read, read_ahead off). If the bytes end mid-record, the rest is read
// with a non-blocking recv of exactly the missing length; if it has not
// arrived, the connection stays in userspace TLS (counted) rather than hand
// the kernel a stream that starts mid-record. Then the handshake output is
// flushed, the keys are installed with the exact next record sequence
// numbers, the session is freed, and the recv is re-armed on a plaintext
// socket.
@preconcurrency import Glibc
import HDTLS

extension Worker {
  /// Called when the recv has ended and nothing is in flight (switchPending).
  func trySwitchToKernel(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>) {
    guard let tls = conn.pointee.tls, tls.pointee.phase == .switchPending,
      !conn.pointee.flags.contains(.recvArmed), conn.pointee.state != .closing,
      !conn.pointee.flags.contains(.closeAfterFlush)  // an HTTP answer: closes after its flush
    else { return }
    let session = tls.pointee.session
    if !topUpToRecordBoundary(slot, conn, session) {
      if conn.pointee.state == .closing { return }
      tlsStats?.add(.kernelFallbackPartialRecord)
      return stayInUserspace(slot, conn, tls)
    }
    if conn.pointee.state == .closing { return }
    if conn.pointee.flags.contains(.sendInFlight) || session.pendingOutputBytes > 0 {
      // Decrypting produced output (e.g. an HTTP answer or KeyUpdate): send it
      // first; the send completion comes back here.
      return flushTLSSend(slot, conn)
    }
    let keys: SessionTrafficKeys
    switch session.kernelKeys() {
    case .success(let k):
      keys = k
    case .failure(.outputPending):
      return flushTLSSend(slot, conn)
    case .failure(.cipherNotOffloadable):
      tlsStats?.add(.kernelFallbackCipher)
      return stayInUserspace(slot, conn, tls)
    case .failure:
      tlsStats?.add(.kernelFallbackOther)
      return stayInUserspace(slot, conn, tls)
    }
    switch KernelTLS.install(fd: conn.pointee.fd, keys: keys) {
    case .failure(let error):
      // The socket may hold a half-installed ULP: it cannot go on either way.
      tlsStats?.add(.kernelInstallErrors)
      shared.log(.warning, "worker \(index): kernel TLS \(error.step) failed: \(errnoText(error.errnoCode)); closing")
      beginClose(slot, reason: .protocolError)
    case .success:
      tlsStats?.add(.kernelInstalls)
      session.free()
      if let block = tls.pointee.staging { memory.freeLargeBlock(block) }
      tls.deinitialize(count: 1)
      tls.deallocate()
      conn.pointee.tls = nil
      conn.pointee.transport = .kernelTLS
      stats.sub(.currentUserspaceTLS)
      stats.add(.currentKernelTLS)
      armRecv(slot)
      // Frames queued while switching are plaintext: the kernel encrypts them now.
      if conn.pointee.sendQueue != nil { markDirty(slot, conn) }
    }
  }

  private func stayInUserspace(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ tls: UnsafeMutablePointer<TLSConnection>) {
    tls.pointee.phase = .userspace
    tls.pointee.recordsEligible = tls.pointee.session.cipherIsKernelCapable
    if !conn.pointee.flags.contains(.paused) { armRecv(slot) }
    flushTLSSend(slot, conn)
  }

  /// Reads (non-blocking, exact lengths) until the session's input ends on a
  /// record boundary, decrypting as it goes. False when the rest has not
  /// arrived yet or the connection closed.
  private func topUpToRecordBoundary(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ session: TLSServerSession) -> Bool {
    decryptRecords(slot, conn)
    var attempts = 0
    while !session.inputAtRecordBoundary && conn.pointee.state != .closing {
      attempts += 1
      if attempts > 8 { return false }  // a trickling client: not worth waiting for
      let need = session.bytesToRecordBoundary
      let got = withUnsafeTemporaryAllocation(byteCount: Self.tlsRecordPlaintextBytesMax + 512, alignment: 16) { buffer -> Int in
        let n = recv(conn.pointee.fd, buffer.baseAddress, min(need, buffer.count), Int32(MSG_DONTWAIT))
        if n > 0 { _ = session.feed(UnsafeRawBufferPointer(start: buffer.baseAddress, count: n)) }
        return n
      }
      if got == 0 {
        beginClose(slot, reason: .peerClosed)
        return false
      }
      if got < 0 { return false }
      decryptRecords(slot, conn)
    }
    return conn.pointee.state != .closing
  }

  /// Kernel RX met a non-data record (read failed with EIO): read it with
  /// recvmsg + TLS_GET_RECORD_TYPE, count it, answer close_notify, close.
  func onKernelTLSControlRecord(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>) {
    let fd = conn.pointee.fd
    // (record type, alert description) or nil when nothing could be read.
    let record = withUnsafeTemporaryAllocation(byteCount: Self.tlsRecordPlaintextBytesMax, alignment: 16) {
      buffer -> (UInt8, UInt8)? in
      guard let (n, type) = KernelTLS.receiveRecord(fd: fd, into: buffer) else { return nil }
      return (type, n >= 2 ? buffer[1] : 0xff)
    }
    switch record {
    case (KernelTLS.recordTypeAlert, 0)?:
      tlsStats?.add(.kernelCloseNotify)
      _ = KernelTLS.sendAlert(fd: fd, level: 1, description: 0)  // our close_notify, best effort
    case (KernelTLS.recordTypeAlert, _)?:
      tlsStats?.add(.kernelAlerts)
    default:
      // A post-handshake message (TLS 1.3 KeyUpdate) the kernel cannot follow, or a read error.
      tlsStats?.add(.kernelOtherRecords)
    }
    beginClose(slot, reason: .peerClosed)
  }
}
