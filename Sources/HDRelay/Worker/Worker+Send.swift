// Sending: frames are queued per connection (docs/queueing.md), the
// connection is put on the dirty list, and at the end of each completion
// batch one sendmsg per dirty connection writes everything queued (up to
// `sendIovecsMax` frames). One send in flight per socket; its completion
// frees the written frames and sends the rest.
@preconcurrency import Glibc
import CURing
import HDProtocol

/// Frame tags in byte 5 of a frame block header.
enum FrameTag: UInt8 {
  case data = 0
  case pong = 1
  case control = 2
}

extension Worker {
  /// The connection's send-queue block, allocated on first use.
  @inline(__always)
  private func sendQueue(_ conn: UnsafeMutablePointer<Connection>) -> SendQueue? {
    if let q = conn.pointee.sendQueue { return SendQueue(q) }
    guard let block = memory.allocateQueueBlock() else { return nil }
    SendQueue.initialize(block)
    conn.pointee.sendQueue = block
    return SendQueue(block)
  }

  /// Free places in the connection's control queue.
  func controlQueueRoom(_ conn: UnsafeMutablePointer<Connection>) -> Int {
    guard let q = sendQueue(conn) else { return 0 }
    return SendQueue.capacity(.control) - q.count(.control)
  }

  @inline(__always)
  func markDirty(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>) {
    guard !conn.pointee.flags.contains(.dirty) else { return }
    conn.pointee.flags.insert(.dirty)
    conn.pointee.dirtyNext = dirtyHead
    dirtyHead = slot
  }

  /// Frees a frame block, and releases the receive buffer an in-place frame pointed into.
  @inline(__always)
  func freeFrame(_ block: UnsafeMutableRawPointer) {
    let receiveBuffer = memory.freeFrame(block)
    if receiveBuffer >= 0 { buffers.releaseFrame(receiveBuffer) }
  }

  /// Queues a RecvPacket frame block; applies the head/tail drop policy.
  @inline(__always)
  func enqueuePacket(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ block: UnsafeMutableRawPointer,
                     kind: PacketKind, packetBytes: Int) {
    block.storeBytes(of: FrameTag.data.rawValue, toByteOffset: 5, as: UInt8.self)
    guard let q = sendQueue(conn) else {
      freeFrame(block)
      stats.drop(.noMemory, kind, packetBytes: packetBytes)
      return
    }
    var dropped: UnsafeMutableRawPointer? = nil
    let sendClass: SendClass = kind == .disco ? .disco : .other
    var capacity = Tuning.queuePacketsMax
    if sendClass == .other && q.count(.other) >= Tuning.queuePacketsMax {
      // Over the soft depth: push back on the sender unless the destination
      // looks stalled (docs/queueing.md).
      if !conn.pointee.flags.contains(.congested) {
        conn.pointee.flags.insert(.congested)
        conn.pointee.congestedTick = tick
      }
      if !isStalled(conn) {
        capacity = Tuning.otherQueueCapacity
        if currentSender >= 0 {
          backpressure(currentSender, waitingOn: slot)
        } else if remotePauses.currentSender != 0 {
          pauseRemoteSender(destination: slot, conn)
        }
      }
    }
    if !q.push(block, sendClass, capacity: capacity, dropped: &dropped) {
      freeFrame(block)
      stats.drop(.queueTail, kind, packetBytes: packetBytes)
      return
    }
    if let old = dropped {
      stats.drop(.queueHead, kind, packetBytes: FrameBlock.frameBytes(old) - FrameWriter.recvPacketHeaderBytes)
      freeFrame(old)
    }
    markDirty(slot, conn)
  }

  /// Queues a control frame (handshake replies, PeerGone, KeepAlive, Pong,
  /// HTTP answers) written by `write` into a block of `bytes`. Returns false
  /// when the control queue is full or memory is out (counted).
  @discardableResult
  func enqueueControl(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, bytes: Int, tag: FrameTag = .control,
                      _ write: (UnsafeMutableRawPointer) -> Void) -> Bool {
    guard conn.pointee.state != .closing, let block = memory.allocateFrame(frameBytes: bytes) else {
      stats.add(.controlFramesDropped)
      return false
    }
    block.storeBytes(of: tag.rawValue, toByteOffset: 5, as: UInt8.self)
    write(FrameBlock.data(block))
    var dropped: UnsafeMutableRawPointer? = nil
    guard let q = sendQueue(conn),
      q.push(block, .control, capacity: Tuning.controlFramesMax, dropped: &dropped)
    else {
      freeFrame(block)
      stats.add(.controlFramesDropped)
      return false
    }
    if let old = dropped {
      // Control frames are never dropped from the head: put it back isn't
      // possible, so count it (only reachable with a full queue of idle frames).
      if old.load(fromByteOffset: 5, as: UInt8.self) == FrameTag.pong.rawValue { conn.pointee.flags.remove(.pongPending) }
      freeFrame(old)
      stats.add(.controlFramesDropped)
    }
    markDirty(slot, conn)
    return true
  }

  func enqueueControl(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, copying bytes: [UInt8]) {
    _ = bytes.withUnsafeBytes { raw in
      enqueueControl(slot, conn, bytes: raw.count) { $0.copyMemory(from: raw.baseAddress!, byteCount: raw.count) }
    }
  }

  /// Pong with the first 8 ping bytes; one pending pong at most (derper).
  func queuePong(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ ping: UnsafeRawPointer) {
    guard !conn.pointee.flags.contains(.pongPending) else { return }
    let ok = enqueueControl(slot, conn, bytes: FrameWriter.pongFrameBytes, tag: .pong) { out in
      FrameHeader.encode(type: .pong, payloadBytes: DERPConstants.pingPayloadBytes, to: out)
      (out + DERPConstants.frameHeaderBytes).copyMemory(from: ping, byteCount: DERPConstants.pingPayloadBytes)
    }
    if ok {
      conn.pointee.flags.insert(.pongPending)
      stats.add(.sentPong)
    }
  }

  @discardableResult
  func queuePeerGone(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ key: DERPKey, reason: PeerGoneReason) -> Bool {
    enqueueControl(slot, conn, bytes: FrameWriter.peerGoneFrameBytes) { out in
      FrameHeader.encode(type: .peerGone, payloadBytes: DERPConstants.peerGonePayloadBytes, to: out)
      key.store(to: out + DERPConstants.frameHeaderBytes)
      (out + DERPConstants.frameHeaderBytes + DERPConstants.keyBytes).storeBytes(of: reason.rawValue, as: UInt8.self)
    }
  }

  func queueKeepAlive(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>) {
    let ok = enqueueControl(slot, conn, bytes: FrameWriter.keepAliveFrameBytes) { out in
      FrameHeader.encode(type: .keepAlive, payloadBytes: 0, to: out)
    }
    if ok { stats.add(.keepAlivesSent) }
  }

  /// One send per dirty connection that has none in flight.
  @inline(__always)
  func flushDirty() {
    while dirtyHead >= 0 {
      let slot = dirtyHead
      let conn = conns[slot]
      dirtyHead = conn.pointee.dirtyNext
      conn.pointee.dirtyNext = -1
      conn.pointee.flags.remove(.dirty)
      if !conn.pointee.flags.contains(.sendInFlight) && conn.pointee.state != .closing && conn.pointee.state != .free {
        flushSend(slot, conn)
      }
    }
  }

  /// The transport seam for outgoing bytes: plaintext frames go to the socket
  /// as they are; a TLS transport would encrypt them here.
  @inline(__always)
  func flushSend(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>) {
    switch conn.pointee.transport {
    case .plain, .kernelTLS: submitPlainSend(slot, conn)
    case .userspaceTLS: flushTLSSend(slot, conn)
    }
  }

  @inline(__always)
  private func submitPlainSend(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>) {
    guard let block = conn.pointee.sendQueue else { return }
    let q = SendQueue(block)
    if q.isEmpty {
      releaseIdleSendQueue(slot, conn)
      return
    }
    guard q.prepareSend() > 0 else { return }
    hd_prep_sendmsg(ring.sqe(), conn.pointee.fd, q.msghdrPointer,
                    UserData(.send, slot: slot, generation: conn.pointee.generation).raw)
    if !conn.pointee.flags.contains(.sendInFlight) { conn.pointee.sendProgressTick = tick }
    conn.pointee.flags.insert(.sendInFlight)
    conn.pointee.pendingOps += 1
    stats.add(.sendCalls)
  }

  func onSendComplete(_ c: Completion, slot: Int32, generation: UInt32) {
    guard let conn = conns.resolve(slot: slot, generation: generation) else { return }
    if conn.pointee.transport == .userspaceTLS { return onTLSSendComplete(c, slot, conn) }
    conn.pointee.flags.remove(.sendInFlight)
    conn.pointee.pendingOps -= 1
    guard let block = conn.pointee.sendQueue else { return finishCloseIfIdle(slot) }
    let q = SendQueue(block)
    if c.result > 0 {
      stats.add(.bytesSent, Int(c.result))
      conn.pointee.sendProgressTick = tick
      q.complete(sent: Int(c.result)) { frame, sendClass in
        if sendClass != .control {
          stats.add(.packetsSent)
        } else if frame.load(fromByteOffset: 5, as: UInt8.self) == FrameTag.pong.rawValue {
          conn.pointee.flags.remove(.pongPending)
        }
        freeFrame(frame)
      }
    } else if c.result < 0 && c.result != -EAGAIN && c.result != -EINTR {
      if conn.pointee.state != .closing { beginClose(slot, reason: .writeError) }
    }
    if conn.pointee.state == .closing { return finishCloseIfIdle(slot) }
    if conn.pointee.flags.contains(.congested) && q.count(.other) <= Tuning.queueResumePackets {
      conn.pointee.flags.remove(.congested)
    }
    if q.isEmpty {
      releaseIdleSendQueue(slot, conn)
      if conn.pointee.flags.contains(.closeAfterFlush) { beginClose(slot, reason: .httpDone) }
    } else {
      // At once, not deferred to the end of the completion batch: deferring
      // it (tried for issue 15 in d884c80) broke backpressure across workers,
      // packets to a slow receiver on another worker arrived out of order and
      // were dropped (DataPlaneBackpressureTests, DataPlaneCrossWorker-
      // BackpressureTests); why was not worked out.
      flushSend(slot, conn)
    }
  }

  /// An idle connection gives its send-queue block back (idle peers hold no buffers).
  func releaseIdleSendQueue(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>) {
    guard let block = conn.pointee.sendQueue, !conn.pointee.flags.contains(.sendInFlight) else { return }
    memory.freeQueueBlock(block)
    conn.pointee.sendQueue = nil
  }

  /// Frees every queued frame of a closing connection, counting packets as `write_error`.
  func dropSendQueue(_ conn: UnsafeMutablePointer<Connection>) {
    guard let block = conn.pointee.sendQueue else { return }
    SendQueue(block).drain { frame, sendClass in
      if sendClass != .control {
        stats.drop(.writeError, sendClass == .disco ? .disco : .other,
                   packetBytes: FrameBlock.frameBytes(frame) - FrameWriter.recvPacketHeaderBytes)
      }
      freeFrame(frame)
    }
    memory.freeQueueBlock(block)
    conn.pointee.sendQueue = nil
  }
}
