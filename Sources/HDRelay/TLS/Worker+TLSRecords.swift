// Userspace TLS after the handshake, on the worker's own record layer
// (HDTLS/TLSRecordLayer): the switch from OpenSSL's records, and the receive
// and send paths that follow it.
//
// The switch is made where kernel TLS would be installed, under the same
// conditions (AES-GCM; every received byte consumed at a record boundary;
// OpenSSL's output taken), but needs no pause of the receive: it is tried
// whenever the session has just run dry, and the next receive is already
// opened here. OpenSSL's output still in the staging block leaves first:
// records are sealed only into an empty staging block.
//
// Receive: whole records are opened in place in the receive buffer and their
// plaintext goes to the same frame path a plain connection uses; a record cut
// by the end of a receive is carried in a large block until it is whole.
// Send: queued frames are sealed straight from their blocks into the staging
// block, up to 16 KiB of plaintext per record and as many records as fit, and
// go out with one sendmsg. As for OpenSSL's path, frames leave the send queue
// only when the staging block is empty, so queue depth still drives
// backpressure (docs/queueing.md).
@preconcurrency import Glibc
import CURing
import HDTLS

extension Worker {
  /// Moves a session onto the worker's record layer when it can go now; a
  /// no-op otherwise (tried again the next time the session runs dry).
  /// Takes the TLS state from the connection rather than from the caller:
  /// the send just before it may have closed the connection and freed it
  /// (an answered HTTP request; found by AddressSanitizer).
  func trySwitchToRecords(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>) {
    guard conn.pointee.state != .closing, conn.pointee.state != .free, let tls = conn.pointee.tls,
      tls.pointee.recordsEligible, tls.pointee.phase == .userspace, !conn.pointee.flags.contains(.closeAfterFlush)
    else { return }
    let session = tls.pointee.session
    guard session.inputAtRecordBoundary, session.pendingOutputBytes == 0 else { return }
    switch TLSRecordLayer.make(from: session) {
    case .success(let layer):
      tls.pointee.records = layer
      tls.pointee.phase = .records
      tlsStats?.add(.recordLayerSwitches)
      // OpenSSL's record buffers and the BIOs' storage are idle from here on.
      session.releaseRecordBuffers()
    case .failure:
      // Not worth trying again for this connection: it stays on OpenSSL.
      tls.pointee.recordsEligible = false
      tlsStats?.add(.recordLayerFallbacks)
    }
  }

  // MARK: receive

  /// Received ciphertext of a connection on the record layer.
  func receiveRecords(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ tls: UnsafeMutablePointer<TLSConnection>,
                      _ bytes: UnsafeMutableRawPointer, _ count: Int) {
    var p = bytes
    var left = count
    if tls.pointee.carryBytes > 0 {
      let taken = continueCarriedRecord(slot, conn, tls, p, left)
      guard taken >= 0 else { return }
      p += taken
      left -= taken
      if tls.pointee.carryBytes > 0 || !isOpen(conn) { return }
    }
    while left >= TLSRecordLayer.headerBytes {
      guard let body = TLSRecordLayer.bodyLength(header: p) else { return failRecords(slot, conn, .recordOverflow) }
      let length = TLSRecordLayer.headerBytes + body
      if left < length { break }
      openRecord(slot, conn, tls, p, length)
      guard isOpen(conn) else { return }
      p += length
      left -= length
    }
    if left > 0 {
      startCarry(slot, conn, tls, p, left)
    } else if let block = tls.pointee.carry {
      // Between records: an idle connection holds no carry block.
      memory.freeLargeBlock(block)
      tls.pointee.carry = nil
    }
  }

  @inline(__always)
  private func isOpen(_ conn: UnsafeMutablePointer<Connection>) -> Bool {
    conn.pointee.state != .closing && conn.pointee.state != .free
  }

  /// Keeps the start of a record cut by the end of a receive.
  private func startCarry(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ tls: UnsafeMutablePointer<TLSConnection>,
                          _ p: UnsafeMutableRawPointer, _ count: Int) {
    if tls.pointee.carry == nil {
      guard let block = memory.allocateLargeBlock() else {
        stats.add(.protocolErrors)
        return beginClose(slot, reason: .protocolError)
      }
      tls.pointee.carry = block
    }
    tls.pointee.carry!.copyMemory(from: p, byteCount: count)
    tls.pointee.carryBytes = count
  }

  /// Adds the next bytes to the carried record and opens it once whole.
  /// Returns the bytes taken from `p`, or -1 when the connection closed.
  private func continueCarriedRecord(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ tls: UnsafeMutablePointer<TLSConnection>,
                                     _ p: UnsafeMutableRawPointer, _ left: Int) -> Int {
    let carry = tls.pointee.carry!
    var have = tls.pointee.carryBytes
    var taken = 0
    let header = TLSRecordLayer.headerBytes
    if have < header {
      let n = min(header - have, left)
      (carry + have).copyMemory(from: p, byteCount: n)
      have += n
      taken += n
      tls.pointee.carryBytes = have
      if have < header { return taken }
    }
    guard let body = TLSRecordLayer.bodyLength(header: carry) else {
      failRecords(slot, conn, .recordOverflow)
      return -1
    }
    let length = header + body
    let n = min(length - have, left - taken)
    (carry + have).copyMemory(from: p + taken, byteCount: n)
    have += n
    taken += n
    tls.pointee.carryBytes = have
    guard have == length else { return taken }
    tls.pointee.carryBytes = 0
    openRecord(slot, conn, tls, carry, length)
    return isOpen(conn) ? taken : -1
  }

  /// Opens one whole record and acts on what it holds.
  private func openRecord(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ tls: UnsafeMutablePointer<TLSConnection>,
                          _ record: UnsafeMutableRawPointer, _ length: Int) {
    guard let layer = tls.pointee.records else { return }
    switch layer.pointee.open(record, length: length) {
    case .data(let offset, let count):
      if count > 0 { receivePlaintext(slot, conn, record + offset, count) }
    case .closeNotify:
      tlsStats?.add(.userspaceCloseNotify)
      sendRecordAlertNow(conn, tls, 0)  // our close_notify, best effort
      beginClose(slot, reason: .peerClosed)
    case .alert:
      failRecords(slot, conn, .peerAlert)
    case .keyUpdate(let requested):
      tlsStats?.add(.keyUpdatesReceived)
      if requested {
        tls.pointee.keyUpdateDue = true
        markDirty(slot, conn)
      }
    case .failed(let reason):
      failRecords(slot, conn, reason)
    }
  }

  /// A record-layer failure after the handshake: counted as OpenSSL's were, closed.
  private func failRecords(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ reason: TLSFailureReason) {
    tlsStats?.add(.userspaceRecordErrors)
    stats.add(.protocolErrors)
    if reason == .badRecordMAC || reason == .recordOverflow, let tls = conn.pointee.tls {
      sendRecordAlertNow(conn, tls, reason == .badRecordMAC ? 20 : 22)  // bad_record_mac, record_overflow
    }
    beginClose(slot, reason: .protocolError)
  }

  /// Best-effort immediate alert before a close, when no send is in flight
  /// (the socket's stream must not get a record inside another).
  private func sendRecordAlertNow(_ conn: UnsafeMutablePointer<Connection>, _ tls: UnsafeMutablePointer<TLSConnection>, _ description: UInt8) {
    guard let layer = tls.pointee.records, !conn.pointee.flags.contains(.sendInFlight),
      tls.pointee.stagedSentBytes >= tls.pointee.stagedBytes
    else { return }
    withUnsafeTemporaryAllocation(byteCount: 64, alignment: 8) { buffer in
      let n = layer.pointee.sealAlert(description, at: buffer.baseAddress!)
      _ = Glibc.send(conn.pointee.fd, buffer.baseAddress, n, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
    }
  }

  // MARK: send

  /// Sends what is staged, or seals queued frames into the staging block and
  /// sends them; one send in flight per socket.
  func flushRecords(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ tls: UnsafeMutablePointer<TLSConnection>) {
    guard !conn.pointee.flags.contains(.sendInFlight), isOpen(conn) else { return }
    if tls.pointee.stagedSentBytes >= tls.pointee.stagedBytes {
      tls.pointee.stagedBytes = 0
      tls.pointee.stagedSentBytes = 0
      var hasFrames = false
      if let block = conn.pointee.sendQueue { hasFrames = !SendQueue(block).isEmpty }
      guard hasFrames || tls.pointee.keyUpdateDue else { return recordsIdle(slot, conn, tls) }
      if tls.pointee.staging == nil {
        guard let block = memory.allocateLargeBlock() else {
          stats.add(.protocolErrors)
          return beginClose(slot, reason: .writeError)
        }
        tls.pointee.staging = block
      }
      guard sealIntoStaging(slot, conn, tls) else { return }
      if tls.pointee.stagedBytes == 0 { return recordsIdle(slot, conn, tls) }
    }
    submitStaged(slot, conn, tls)
  }

  /// Fills the empty staging block with records: a KeyUpdate answer first,
  /// then queued frames. False when the connection had to close.
  private func sealIntoStaging(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ tls: UnsafeMutablePointer<TLSConnection>) -> Bool {
    let layer = tls.pointee.records!
    let data = tls.pointee.staging! + TLSStaging.dataOffset
    let capacity = TLSStaging.dataBytes
    var used = 0
    if tls.pointee.keyUpdateDue || layer.pointee.transmitKeyWornOut {
      tls.pointee.keyUpdateDue = false
      let n = layer.pointee.sealKeyUpdate(at: data)
      guard n > 0 else {
        stats.add(.protocolErrors)
        beginClose(slot, reason: .protocolError)
        return false
      }
      used = n
      tlsStats?.add(.keyUpdatesSent)
    }
    let overhead = layer.pointee.overheadBytes
    fill: while let block = conn.pointee.sendQueue, !SendQueue(block).isEmpty {
      let room = capacity - used - overhead
      if room < 1 { break }
      let q = SendQueue(block)
      let offered = q.prepareSend()
      guard offered > 0 else { break }
      let message = q.msghdrPointer.pointee
      var sealed = 0
      var iovIndex = 0
      var iovSkip = 0
      // Records of up to 16 KiB across the offered frames, while they fit.
      while sealed < offered {
        let room = capacity - used - overhead
        if room < 1 { break }
        let recordBytes = min(offered - sealed, TLSRecordLayer.maxPlaintextBytes, room)
        used += layer.pointee.beginRecord(at: data + used, plaintextBytes: recordBytes)
        var left = recordBytes
        while left > 0 {
          let iov = message.msg_iov[iovIndex]
          let piece = min(iov.iov_len - iovSkip, left)
          layer.pointee.seal(to: data + used, from: iov.iov_base! + iovSkip, count: piece)
          used += piece
          left -= piece
          iovSkip += piece
          if iovSkip == iov.iov_len {
            iovIndex += 1
            iovSkip = 0
          }
        }
        used += layer.pointee.finishRecord(at: data + used)
        sealed += recordBytes
      }
      q.complete(sent: sealed) { frame, sendClass in releaseSentFrame(conn, frame, sendClass) }
      if sealed < offered { break fill }  // the staging block is full
    }
    tls.pointee.stagedBytes = used
    if let block = conn.pointee.sendQueue, SendQueue(block).isEmpty { releaseIdleSendQueue(slot, conn) }
    return true
  }

  /// One sendmsg of the staged bytes not yet sent (both record layers' ciphertext).
  func submitStaged(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ tls: UnsafeMutablePointer<TLSConnection>) {
    let block = tls.pointee.staging!
    let iov = (block + TLSStaging.iovecOffset).assumingMemoryBound(to: iovec.self)
    iov.pointee.iov_base = block + TLSStaging.dataOffset + tls.pointee.stagedSentBytes
    iov.pointee.iov_len = tls.pointee.stagedBytes - tls.pointee.stagedSentBytes
    let message = (block + TLSStaging.msghdrOffset).assumingMemoryBound(to: msghdr.self)
    message.pointee = msghdr()
    message.pointee.msg_iov = iov
    message.pointee.msg_iovlen = 1
    hd_prep_sendmsg(ring.sqe(), conn.pointee.fd, message, UserData(.send, slot: slot, generation: conn.pointee.generation).raw)
    conn.pointee.sendProgressTick = tick
    conn.pointee.flags.insert(.sendInFlight)
    conn.pointee.pendingOps += 1
    stats.add(.sendCalls)
  }

  /// Nothing to send: the staging block goes back; an answered request closes
  /// after our close_notify.
  private func recordsIdle(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ tls: UnsafeMutablePointer<TLSConnection>) {
    if let block = tls.pointee.staging {
      memory.freeLargeBlock(block)
      tls.pointee.staging = nil
    }
    if conn.pointee.flags.contains(.closeAfterFlush) && conn.pointee.sendQueue == nil {
      sendRecordAlertNow(conn, tls, 0)
      beginClose(slot, reason: .httpDone)
    }
  }

  /// Frees the record layer and its carry block (from releaseTLS).
  func releaseRecords(_ tls: UnsafeMutablePointer<TLSConnection>) {
    if let layer = tls.pointee.records {
      TLSRecordLayer.free(layer)
      tls.pointee.records = nil
    }
    if let block = tls.pointee.carry {
      memory.freeLargeBlock(block)
      tls.pointee.carry = nil
      tls.pointee.carryBytes = 0
    }
  }
}
