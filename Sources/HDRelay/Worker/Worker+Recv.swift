// Receiving: one recv at a time per connection, into a buffer the kernel
// picks from the worker's provided-buffer ring, re-armed after its bytes are
// handled. One buffer per receive (not multishot) is deliberate: it bounds what
// a sender can push in before backpressure or the rate limit stops reading it
// (a multishot recv drained whole socket buffers into one batch, overflowing
// the destination queues). Every received byte goes through `receiveBytes`,
// the transport seam, and the provided buffer is returned right after, or,
// when RecvPacket frames were queued in place in it (Worker+Forward), once
// the last of them has left.
@preconcurrency import Glibc
import CURing

extension Worker {
  func armRecv(_ slot: Int32) {
    let conn = conns[slot]
    guard !conn.pointee.flags.contains(.recvArmed), conn.pointee.state != .closing, conn.pointee.state != .verifying,
      stopPhase == 0
    else { return }
    // `peer_rate_limit`: at most the tokens left, or no receive at all (paused).
    guard var maxBytes = rateAllowance(slot, conn) else { return }
    // Full 64 KiB receives only where they were shown safe (issue 15): one
    // worker, and no OpenSSL records. Across workers one such receive alone
    // overshoots the cross-worker ring's 64 KiB pause bound (senders then waited
    // for the tick to be released). OpenSSL's records (handshake, ChaCha20) stay
    // at 32 KiB; on the worker's own record layer 64 KiB receives are fine now
    // that the tick cannot jump (15bab97), which is what lost receivers before.
    if (!wideReceives || (conn.pointee.transport == .userspaceTLS && conn.pointee.tls?.pointee.phase != .records))
      && (maxBytes == 0 || maxBytes > Tuning.recvBytesNarrow) {
      maxBytes = Tuning.recvBytesNarrow
    }
    hd_prep_recv_select_max(ring.sqe(), conn.pointee.fd, buffers.groupID, maxBytes,
                            UserData(.recv, slot: slot, generation: conn.pointee.generation).raw)
    conn.pointee.flags.insert(.recvArmed)
    conn.pointee.pendingOps += 1
  }

  func onRecv(_ c: Completion, slot: Int32, generation: UInt32) {
    guard let conn = conns.resolve(slot: slot, generation: generation) else { return }
    if !c.hasMore {
      conn.pointee.flags.remove(.recvArmed)
      conn.pointee.pendingOps -= 1
    }
    if c.result > 0 {
      let id = c.bufferID
      buffers.tookFromKernel()
      stats.add(.recvCalls)
      if rateBytesPerSecond > 0 && conn.pointee.state == .registered && !conn.pointee.flags.contains(.meshPeer) {
        chargeRate(conn, bytes: Int(c.result))
      }
      buffers.beginHandling(id)
      if conn.pointee.state != .closing {
        receivingBuffer = id
        receiveHolding(slot, conn, buffers.buffer(id), Int(c.result))
        receivingBuffer = -1
      }
      buffers.endHandling(id)
    } else if c.hasBuffer {
      buffers.tookFromKernel()
      buffers.recycle(c.bufferID)
    }
    if conn.pointee.state == .closing {
      finishCloseIfIdle(slot)
      return
    }
    if c.result == 0 {
      conn.pointee.flags.insert(.peerEOF)
      beginClose(slot, reason: .peerClosed)
      return
    }
    if c.result == -EIO && conn.pointee.transport == .kernelTLS {
      // Kernel TLS: an alert or other non-data record is next in the stream.
      onKernelTLSControlRecord(slot, conn)
      return
    }
    if c.result < 0 && c.result != -ENOBUFS && c.result != -ECANCELED {
      beginClose(slot, reason: .peerClosed)
      return
    }
    if c.result == -ENOBUFS {
      stats.add(.recvBufferExhaustions)
      conn.pointee.flags.insert(.recvStarved)
      starvedSlots.append(slot)
      return
    }
    // TLS handshake done and kernel TLS wanted: the recv was cancelled so
    // the keys can be installed at a known point of the stream.
    if !c.hasMore && conn.pointee.tls?.pointee.phase == .switchPending {
      trySwitchToKernel(slot, conn)
      return
    }
    // This receive is done: read on unless paused (rate limit, backpressure),
    // stopping or answering HTTP.
    if !c.hasMore && conn.pointee.flags.isDisjoint(with: .noRearm) && stopPhase == 0 {
      armRecv(slot)
    }
  }

  /// Re-arms receives that starved for buffers once a share of the ring is back.
  func rearmStarved() {
    guard !starvedSlots.isEmpty, buffers.hasRearmShare else { return }
    for slot in starvedSlots {
      let conn = conns[slot]
      guard conn.pointee.flags.contains(.recvStarved) else { continue }
      conn.pointee.flags.remove(.recvStarved)
      if conn.pointee.state != .closing && conn.pointee.state != .free
        && conn.pointee.flags.isDisjoint(with: .readHeld)
      {
        armRecv(slot)
      }
    }
    starvedSlots.removeAll(keepingCapacity: true)
  }

  /// Handles received bytes with the slot held, as an operation in flight: a
  /// close they cause (bad ClientInfo, protocol error) only marks the
  /// connection closing, and the slot cannot be freed (and its fd forgotten)
  /// while the frame parser still works on it. Without the hold a close that
  /// completed at once left the parser keeping the rest of the bytes in a
  /// pool block of a free slot: one leaked block per such connection (found
  /// by the server-connection fuzz target). The caller finishes the close.
  @inline(__always)
  func receiveHolding(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ bytes: UnsafeMutableRawPointer,
                      _ count: Int) {
    conn.pointee.pendingOps += 1
    receiveBytes(slot, conn, bytes, count)
    conn.pointee.pendingOps -= 1
  }

  /// The transport seam for incoming bytes: ciphertext would be decrypted here.
  @inline(__always)
  func receiveBytes(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ bytes: UnsafeMutableRawPointer, _ count: Int) {
    switch conn.pointee.transport {
    case .plain, .kernelTLS: receivePlaintext(slot, conn, bytes, count)
    case .userspaceTLS: receiveTLS(slot, conn, bytes, count)
    }
  }

  /// Plaintext bytes of a connection, by state: the HTTP head, or DERP frames.
  func receivePlaintext(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ bytes: UnsafeMutableRawPointer, _ count: Int) {
    if conn.pointee.state == .http {
      receiveHTTP(slot, conn, bytes, count)
    } else {
      receiveFrames(slot, conn, bytes, count)
    }
  }

  /// Splits bytes into whole frames: frames inside `bytes` are handled in
  /// place; a partial frame is kept in the connection's assembly block.
  func receiveFrames(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ bytes: UnsafeMutableRawPointer, _ count: Int) {
    if conn.pointee.state == .verifying { return holdWhileVerifying(slot, conn, bytes, count) }
    var p = bytes
    var left = count
    if conn.pointee.state == .registered { stats.add(.bytesReceived, count) }
    // Unknown frame being skipped.
    if conn.pointee.skipBytes > 0 {
      let n = min(Int(conn.pointee.skipBytes), left)
      conn.pointee.skipBytes -= UInt32(n)
      p += n
      left -= n
    }
    // Complete the frame started in an earlier receive.
    if conn.pointee.assemblyBytes > 0 && left > 0 {
      guard let (consumed, done) = continueAssembly(slot, conn, p, left) else { return }
      p += consumed
      left -= consumed
      if !done { return }
    }
    while left >= 5 && conn.pointee.state != .closing && conn.pointee.state != .verifying {
      let length = Int(UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 1, as: UInt32.self)))
      let type = p.load(as: UInt8.self)
      guard checkFrameLength(slot, conn, type: type, length: length) else { return }
      if isSkipped(conn, type: type) {
        stats.add(.unknownFrames)
        let n = min(5 + length, left)
        conn.pointee.skipBytes = UInt32(5 + length - n)
        p += n
        left -= n
        continue
      }
      if left < 5 + length { break }
      handleFrame(slot, conn, type: type, payload: p + 5, length: length)
      p += 5 + length
      left -= 5 + length
    }
    if left > 0 && conn.pointee.state == .verifying {
      holdWhileVerifying(slot, conn, p, left)
    } else if left > 0 && conn.pointee.state != .closing {
      startAssembly(slot, conn, p, left)
    }
  }

  /// Appends to the pending partial frame. Returns (bytes consumed, frame done),
  /// or nil when the connection was closed.
  private func continueAssembly(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ p: UnsafeMutableRawPointer, _ left: Int) -> (Int, Bool)? {
    var consumed = 0
    var have = Int(conn.pointee.assemblyBytes)
    let buffer = conn.pointee.assembly!
    if have < 5 {
      let n = min(5 - have, left)
      (buffer + have).copyMemory(from: p, byteCount: n)
      have += n
      consumed += n
      conn.pointee.assemblyBytes = Int32(have)
      if have < 5 { return (consumed, false) }
    }
    let type = buffer.load(as: UInt8.self)
    let length = Int(UInt32(bigEndian: buffer.loadUnaligned(fromByteOffset: 1, as: UInt32.self)))
    guard checkFrameLength(slot, conn, type: type, length: length) else { return nil }
    if isSkipped(conn, type: type) {
      // Header arrived in pieces; skip the body as it comes.
      stats.add(.unknownFrames)
      releaseAssembly(conn)
      let n = min(length, left - consumed)
      conn.pointee.skipBytes = UInt32(length - n)
      return (consumed + n, true)
    }
    guard ensureAssemblyCapacity(slot, conn, 5 + length) else { return nil }
    let target = conn.pointee.assembly!
    let n = min(5 + length - have, left - consumed)
    (target + have).copyMemory(from: p + consumed, byteCount: n)
    have += n
    consumed += n
    conn.pointee.assemblyBytes = Int32(have)
    if have < 5 + length { return (consumed, false) }
    conn.pointee.assemblyBytes = 0
    handleFrame(slot, conn, type: type, payload: target + 5, length: length)
    if conn.pointee.state != .closing && conn.pointee.assemblyBytes == 0 { releaseAssembly(conn) }
    return conn.pointee.state == .closing ? nil : (consumed, true)
  }

  private func startAssembly(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ p: UnsafeMutableRawPointer, _ left: Int) {
    var need = left
    if left >= 5 { need = 5 + Int(UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 1, as: UInt32.self))) }
    guard ensureAssemblyCapacity(slot, conn, max(need, left)) else { return }
    conn.pointee.assembly!.copyMemory(from: p, byteCount: left)
    conn.pointee.assemblyBytes = Int32(left)
  }

  /// Frame size rules: a registered peer's frames fit the largest legal
  /// frame; ClientInfo may be up to 256 KiB. Oversized closes the connection.
  @inline(__always)
  private func checkFrameLength(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, type: UInt8, length: Int) -> Bool {
    let limit = conn.pointee.state == .awaitingClientInfo ? DERPLimits.clientInfoBytesMax : DERPLimits.frameBytesMax
    if length > limit && !(conn.pointee.state == .registered && isUnknownType(type)) {
      stats.add(.protocolErrors)
      beginClose(slot, reason: conn.pointee.state == .registered ? .protocolError : .badFirstFrame)
      return false
    }
    return true
  }

  @inline(__always)
  private func isSkipped(_ conn: UnsafeMutablePointer<Connection>, type: UInt8) -> Bool {
    conn.pointee.state == .registered && isUnknownType(type)
  }

  /// Makes the assembly block hold at least `bytes` (keeping its contents).
  func ensureAssemblyCapacity(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ bytes: Int) -> Bool {
    if conn.pointee.assembly != nil && Int(conn.pointee.assemblyCapacity) >= bytes { return true }
    let kind: AssemblyKind
    let block: UnsafeMutableRawPointer?
    let capacity: Int
    if bytes <= Tuning.smallBlockBytes {
      kind = .small
      block = memory.allocateSmallBlock()
      capacity = Tuning.smallBlockBytes
    } else if bytes <= Tuning.largeBlockBytes {
      kind = .large
      block = memory.allocateLargeBlock()
      capacity = Tuning.largeBlockBytes
    } else {
      kind = .heap  // only a handshake frame (ClientInfo ≤ 256 KiB) gets here
      block = malloc(bytes)
      capacity = bytes
    }
    guard let newBlock = block else {
      stats.add(.protocolErrors)
      beginClose(slot, reason: .protocolError)
      return false
    }
    if let old = conn.pointee.assembly {
      newBlock.copyMemory(from: old, byteCount: Int(conn.pointee.assemblyBytes))
      releaseAssembly(conn, keepBytes: true)
    }
    conn.pointee.assembly = newBlock
    conn.pointee.assemblyCapacity = Int32(capacity)
    conn.pointee.assemblyKind = kind
    return true
  }

  func releaseAssembly(_ conn: UnsafeMutablePointer<Connection>, keepBytes: Bool = false) {
    if let block = conn.pointee.assembly {
      switch conn.pointee.assemblyKind {
      case .small: memory.freeSmallBlock(block)
      case .large: memory.freeLargeBlock(block)
      case .heap: free(block)
      case .none: break
      }
    }
    conn.pointee.assembly = nil
    conn.pointee.assemblyCapacity = 0
    conn.pointee.assemblyKind = .none
    if !keepBytes { conn.pointee.assemblyBytes = 0 }
  }
}

/// Frame-size limits the server enforces.
enum DERPLimits {
  /// Largest frame payload from a registered peer: ForwardPacket's two keys + 64 KiB.
  static let frameBytesMax = 64 + 65_536
  /// ClientInfo frames may be larger (derper: 256 KiB).
  static let clientInfoBytesMax = 256 * 1024
}
