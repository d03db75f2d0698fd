// Userspace TLS, send side: queued plaintext frames are encrypted by the
// session (SSL_write into its memory BIO), the frames are released at once,
// and the ciphertext is moved into a staging block and written with one
// io_uring sendmsg; its completion sends the rest. One send in flight per
// socket, as for plain connections.
@preconcurrency import Glibc
import CURing
import HDTLS

extension Worker {
  /// The transport seam for a userspace-TLS connection's outgoing bytes.
  func flushTLSSend(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>) {
    guard let tls = conn.pointee.tls, !conn.pointee.flags.contains(.sendInFlight) else { return }
    if tls.pointee.phase == .records { return flushRecords(slot, conn, tls) }
    // Frames are encrypted only while the ciphertext waiting for the socket is
    // under one send's worth: behind a slow reader they stay in the bounded
    // send queue, where its depth drives backpressure and drops exactly as for
    // a plain connection (docs/queueing.md), and the session's output stays bounded.
    if tls.pointee.phase != .handshaking && tls.pointee.session.pendingOutputBytes < TLSStaging.dataBytes {
      encryptQueuedFrames(slot, conn, tls)
    }
    if conn.pointee.state == .closing { return }
    shipTLSOutput(slot, conn)
    // OpenSSL's output is taken: the worker's record layer may take over.
    trySwitchToRecords(slot, conn)
  }

  /// Plaintext gathered per TLS record: the TLS maximum, so queued small
  /// frames share records (fewer AEAD operations and per-record overheads).
  static let tlsRecordGatherBytes = 16_384

  /// Encrypts every queued frame, coalescing consecutive frames into records
  /// of up to 16 KiB; the frames are done (freed) once encrypted.
  private func encryptQueuedFrames(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ tls: UnsafeMutablePointer<TLSConnection>) {
    guard conn.pointee.sendQueue != nil else { return }
    let session = tls.pointee.session
    // The worker's scratch: a temporary buffer this size would come from the heap.
    let gather = memory.tlsGatherScratch
    var gathered = 0
    var ok = true
    drain: while let block = conn.pointee.sendQueue, !SendQueue(block).isEmpty {
      let q = SendQueue(block)
      let offered = q.prepareSend()
      guard offered > 0 else { break }
      let message = q.msghdrPointer.pointee
      for i in 0..<Int(message.msg_iovlen) {
        let iov = message.msg_iov[i]
        let bytes = UnsafeRawBufferPointer(start: iov.iov_base, count: iov.iov_len)
        if gathered + bytes.count > gather.count && gathered > 0 {
          ok = writeGathered(session, gather, &gathered)
          guard ok else { break drain }
        }
        if bytes.count >= gather.count {
          ok = session.write(bytes)  // big frames go straight to records
          guard ok else { break drain }
        } else {
          UnsafeMutableRawBufferPointer(rebasing: gather[gathered..<(gathered + bytes.count)]).copyMemory(from: bytes)
          gathered += bytes.count
        }
      }
      q.complete(sent: offered) { frame, sendClass in releaseSentFrame(conn, frame, sendClass) }
    }
    if ok && gathered > 0 { ok = writeGathered(session, gather, &gathered) }
    guard ok else {
      stats.add(.protocolErrors)
      return beginClose(slot, reason: .writeError)
    }
    releaseIdleSendQueue(slot, conn)
  }

  /// A frame encrypted (so done with): counted as sent, a pong clears the
  /// pending flag, the block goes back. Both record layers' send paths.
  @inline(__always)
  func releaseSentFrame(_ conn: UnsafeMutablePointer<Connection>, _ frame: UnsafeMutableRawPointer, _ sendClass: SendClass) {
    if sendClass != .control {
      stats.add(.packetsSent)
    } else if frame.load(fromByteOffset: 5, as: UInt8.self) == FrameTag.pong.rawValue {
      conn.pointee.flags.remove(.pongPending)
    }
    freeFrame(frame)
  }

  /// Encrypts the gathered plaintext as one record and empties the gather buffer.
  /// (A method with an inout count, not a nested function capturing it: that
  /// boxes the count on the heap in debug builds, once per flush.)
  private func writeGathered(_ session: TLSServerSession, _ gather: UnsafeMutableRawBufferPointer, _ gathered: inout Int) -> Bool {
    defer { gathered = 0 }
    return session.write(UnsafeRawBufferPointer(rebasing: gather[0..<gathered]))
  }

  /// Submits the session's pending ciphertext (or what fits in one staging
  /// block), unless a send is already in flight.
  func shipTLSOutput(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>) {
    guard let tls = conn.pointee.tls, !conn.pointee.flags.contains(.sendInFlight),
      conn.pointee.state != .closing, conn.pointee.state != .free
    else { return }
    if tls.pointee.phase == .records { return flushRecords(slot, conn, tls) }
    let session = tls.pointee.session
    if tls.pointee.stagedSentBytes >= tls.pointee.stagedBytes {
      tls.pointee.stagedBytes = 0
      tls.pointee.stagedSentBytes = 0
      guard session.pendingOutputBytes > 0 else { return tlsSendIdle(slot, conn, tls) }
      if tls.pointee.staging == nil {
        guard let block = memory.allocateLargeBlock() else {
          stats.add(.protocolErrors)
          return beginClose(slot, reason: .writeError)
        }
        tls.pointee.staging = block
      }
      let data = tls.pointee.staging! + TLSStaging.dataOffset
      tls.pointee.stagedBytes = session.takeOutput(
        into: UnsafeMutableRawBufferPointer(start: data, count: TLSStaging.dataBytes))
    }
    submitStaged(slot, conn, tls)
  }

  /// Nothing left to write: give the staging block back, finish an HTTP
  /// answer's close, or make the pending switch to kernel TLS.
  private func tlsSendIdle(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ tls: UnsafeMutablePointer<TLSConnection>) {
    if let block = tls.pointee.staging {
      memory.freeLargeBlock(block)
      tls.pointee.staging = nil
    }
    // An answered HTTP request (probe, 404…) closes; it never needs the kernel.
    if conn.pointee.flags.contains(.closeAfterFlush) && conn.pointee.sendQueue == nil {
      // close_notify first, so the client sees a clean end of the TLS stream.
      if !tls.pointee.session.sentCloseNotify {
        tls.pointee.session.shutdown()
        return shipTLSOutput(slot, conn)
      }
      return beginClose(slot, reason: .httpDone)
    }
    if tls.pointee.phase == .switchPending && !conn.pointee.flags.contains(.recvArmed) {
      trySwitchToKernel(slot, conn)
    }
  }

  /// Completion of a userspace-TLS sendmsg (called from onSendComplete).
  func onTLSSendComplete(_ c: Completion, _ slot: Int32, _ conn: UnsafeMutablePointer<Connection>) {
    conn.pointee.flags.remove(.sendInFlight)
    conn.pointee.pendingOps -= 1
    guard let tls = conn.pointee.tls else { return finishCloseIfIdle(slot) }
    if c.result > 0 {
      stats.add(.bytesSent, Int(c.result))
      conn.pointee.sendProgressTick = tick
      tls.pointee.stagedSentBytes += Int(c.result)
    } else if c.result < 0 && c.result != -EAGAIN && c.result != -EINTR {
      if conn.pointee.state != .closing { beginClose(slot, reason: .writeError) }
    }
    if conn.pointee.state == .closing { return finishCloseIfIdle(slot) }
    // Drained as a plain connection drains (onSendComplete): its paused senders may read again.
    if conn.pointee.flags.contains(.congested) {
      var queued = 0
      if let block = conn.pointee.sendQueue { queued = SendQueue(block).count(.other) }
      if queued <= Tuning.queueResumePackets { conn.pointee.flags.remove(.congested) }
    }
    // At the end of the completion batch, with whatever it queues: fuller records and sends.
    markDirty(slot, conn)
  }

  /// Best-effort immediate write of pending output (an alert) before closing.
  /// All of it, not just a first piece: a failing handshake step can queue
  /// the server's flight (certificate included, KBs) before the alert, and
  /// a first piece alone would end the stream inside a record, alert unsent
  /// (found by the tls-server-records fuzz target). Stops at the first short
  /// send: the socket is full, the connection closes anyway.
  func sendTLSOutputNow(_ conn: UnsafeMutablePointer<Connection>, _ session: TLSServerSession) {
    guard !conn.pointee.flags.contains(.sendInFlight), session.pendingOutputBytes > 0 else { return }
    withUnsafeTemporaryAllocation(byteCount: 4096, alignment: 8) { buffer in
      while session.pendingOutputBytes > 0 {
        let n = session.takeOutput(into: buffer)
        guard n > 0 else { return }
        let sent = Glibc.send(conn.pointee.fd, buffer.baseAddress, n, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
        guard sent == n else { return }
      }
    }
  }
}
