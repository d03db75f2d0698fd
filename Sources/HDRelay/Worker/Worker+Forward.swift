// Routing a SendPacket: look the destination up in this worker's replica of
// the peer table, then build the RecvPacket frame for a local destination, or
// copy it into the cross-worker ring for a remote one. A local frame whose
// bytes lie whole in the receive buffer being handled is rewritten there and
// sent in place (issue 15: the copy into a pool block was ~11 % of the plain
// relay's CPU); otherwise it is built in a pool block.
import HDProtocol

extension Worker {
  /// `source` is the sender's key, or for a mesh ForwardPacket the key it
  /// names. `tracksSender` (a local sender) records the destination for
  /// PeerGone(Disconnected) on the sending connection; for a ForwardPacket
  /// the destination is recorded as a receiver of the mesh key instead (a
  /// mesh peer's own key never leaves on behalf of the sources it forwards).
  @inline(__always)
  func forward(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, source: DERPKey, destination: DERPKey,
               packet: UnsafeMutableRawPointer, packetBytes: Int, tracksSender: Bool) {
    let kind: PacketKind = isDiscoPacket(packet, packetBytes) ? .disco : .other
    stats.add(.packetsReceived)
    stats.add(kind == .disco ? .packetsReceivedDisco : .packetsReceivedOther)
    guard let location = peers.lookup(destination) else {
      // Not here: another relay of the region may have it (never for a
      // packet that came from the mesh: one hop only).
      if tracksSender, let mesh = shared.mesh {
        switch mesh.forward(source: source, destination: destination, packet: packet, packetBytes: packetBytes) {
        case .queued:
          stats.add(.meshForwardedPackets)
          return
        case .queueFull:
          stats.drop(.meshQueueFull, kind, packetBytes: packetBytes)
          return
        case .noRoute:
          break
        }
      }
      stats.drop(.unknownDest, kind, packetBytes: packetBytes)
      if kind == .disco { sendNotHere(slot, conn, destination) }
      return
    }
    if tracksSender {
      recordSentTo(conn, location)
    } else if let mesh = shared.mesh {
      meshReceivers.note(source, location.raw, in: mesh.routes)
    }
    currentSender = slot
    if location.worker == index {
      deliverLocal(location, source: source, packet: packet, packetBytes: packetBytes, kind: kind)
    } else {
      pushPacket(to: location, from: PeerLocation(worker: index, slot: slot, generation: conn.pointee.generation),
                 source: source, packet: packet, packetBytes: packetBytes, kind: kind)
    }
    currentSender = -1
  }

  /// Builds the RecvPacket frame and queues it on a connection of this worker.
  @inline(__always)
  func deliverLocal(_ location: PeerLocation, source: DERPKey, packet: UnsafeMutableRawPointer, packetBytes: Int, kind: PacketKind) {
    guard let dest = conns.resolve(slot: location.slot, generation: location.generation),
      dest.pointee.state == .registered
    else {
      stats.drop(.goneDisconnected, kind, packetBytes: packetBytes)
      return
    }
    let frameBytes = FrameWriter.recvPacketHeaderBytes + packetBytes
    if let block = inPlaceFrame(source: source, packet: packet, packetBytes: packetBytes) {
      enqueuePacket(location.slot, dest, block, kind: kind, packetBytes: packetBytes)
      return
    }
    guard let block = memory.allocateFrame(frameBytes: frameBytes) else {
      stats.drop(.noMemory, kind, packetBytes: packetBytes)
      return
    }
    let out = FrameBlock.data(block)
    FrameHeader.encode(type: .recvPacket, payloadBytes: DERPConstants.keyBytes + packetBytes, to: out)
    source.store(to: out + DERPConstants.frameHeaderBytes)
    (out + FrameWriter.recvPacketHeaderBytes).copyMemory(from: packet, byteCount: packetBytes)
    enqueuePacket(location.slot, dest, block, kind: kind, packetBytes: packetBytes)
  }

  /// The RecvPacket frame written over the 37 bytes before `packet` in the
  /// receive buffer being handled (SendPacket's own header and destination
  /// key, or the tail of ForwardPacket's two keys, both already read into
  /// values), queued as a header block that holds the buffer until the frame
  /// has left. nil when the packet is not whole in that buffer (reassembled,
  /// decrypted by OpenSSL, replayed after verification, from another worker),
  /// when too many buffers are already held (counted: the receive ring must
  /// keep buffers for every socket, and a stalled receiver holds its frames
  /// until the write timeout), or when out of header blocks.
  @inline(__always)
  private func inPlaceFrame(source: DERPKey, packet: UnsafeMutableRawPointer, packetBytes: Int) -> UnsafeMutableRawPointer? {
    let id = receivingBuffer
    let frame = packet - FrameWriter.recvPacketHeaderBytes
    guard id >= 0, buffers.contains(id, frame, bytes: FrameWriter.recvPacketHeaderBytes + packetBytes) else { return nil }
    guard buffers.heldForFrames < recvBuffersHeldForFramesMax else {
      stats.add(.inPlaceHoldLimitCopies)
      return nil
    }
    guard let block = memory.allocateFrame(frameBytes: FrameWriter.recvPacketHeaderBytes + packetBytes, at: frame, receiveBuffer: id)
    else { return nil }
    FrameHeader.encode(type: .recvPacket, payloadBytes: DERPConstants.keyBytes + packetBytes, to: frame)
    source.store(to: frame + DERPConstants.frameHeaderBytes)
    buffers.holdForFrame(id)
    stats.add(.packetsSentInPlace)
    return block
  }

  /// A whole RecvPacket frame that arrived from another worker.
  @inline(__always)
  func deliverFrame(_ location: PeerLocation, frame: UnsafeRawPointer, frameBytes: Int, kind: PacketKind) {
    let packetBytes = frameBytes - FrameWriter.recvPacketHeaderBytes
    guard let dest = conns.resolve(slot: location.slot, generation: location.generation),
      dest.pointee.state == .registered
    else {
      stats.drop(.goneDisconnected, kind, packetBytes: packetBytes)
      return
    }
    guard let block = memory.allocateFrame(frameBytes: frameBytes) else {
      stats.drop(.noMemory, kind, packetBytes: packetBytes)
      return
    }
    FrameBlock.data(block).copyMemory(from: frame, byteCount: frameBytes)
    enqueuePacket(location.slot, dest, block, kind: kind, packetBytes: packetBytes)
  }

  /// Remembers that this connection sent to `location`, so it can be told
  /// PeerGone(Disconnected) when this key leaves. Bounded per connection.
  @inline(__always)
  private func recordSentTo(_ conn: UnsafeMutablePointer<Connection>, _ location: PeerLocation) {
    if conn.pointee.lastSentTo == location.raw { return }
    conn.pointee.lastSentTo = location.raw
    addSentTo(conn, location.raw)
  }

  /// Adds `location` to the connection's PeerGone set unless present or full.
  func addSentTo(_ conn: UnsafeMutablePointer<Connection>, _ location: UInt64) {
    let count = Int(conn.pointee.sentToCount)
    if let set = conn.pointee.sentTo {
      for i in 0..<count where set[i] == location { return }
    }
    guard count < Tuning.sentToTrackedMax else { return }
    if count == Int(conn.pointee.sentToCapacity) {
      // Control-path growth: happens at most log2(sentToTrackedMax) times per connection.
      let capacity = max(8, count * 2)
      let grown = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
      if let old = conn.pointee.sentTo {
        grown.update(from: old, count: count)
        old.deallocate()
      }
      conn.pointee.sentTo = grown
      conn.pointee.sentToCapacity = Int32(capacity)
    }
    conn.pointee.sentTo![count] = location
    conn.pointee.sentToCount += 1
  }

  /// PeerGone(NotHere) for a disco packet to an unknown key: 1/s, burst 3, per connection.
  private func sendNotHere(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ key: DERPKey) {
    let elapsed = tick &- conn.pointee.notHereTick
    if elapsed >= Tuning.notHereRefillTicks {
      let refill = Int32(clamping: elapsed / Tuning.notHereRefillTicks)
      conn.pointee.notHereTokens = min(Tuning.notHereBurst, conn.pointee.notHereTokens + refill)
      conn.pointee.notHereTick = tick
    }
    guard conn.pointee.notHereTokens > 0 else { return }
    conn.pointee.notHereTokens -= 1
    if queuePeerGone(slot, conn, key, reason: .notHere) { stats.add(.peerGoneNotHereFrames) }
  }
}
