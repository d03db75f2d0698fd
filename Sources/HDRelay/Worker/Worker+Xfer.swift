// Cross-worker traffic: packets for peers on other workers and the control
// records that keep every worker's peer-table replica in step. Each ordered
// worker pair has its own SPSC ring; a consumer that may be asleep is woken
// once per loop iteration through its eventfd.
@preconcurrency import Glibc
import HDProtocol

extension Worker {
  /// Copies a RecvPacket frame into the ring towards `location.worker`.
  @inline(__always)
  func pushPacket(to location: PeerLocation, from sender: PeerLocation, source: DERPKey, packet: UnsafeRawPointer,
                  packetBytes: Int, kind: PacketKind) {
    let dst = location.worker
    let frameBytes = FrameWriter.recvPacketHeaderBytes + packetBytes
    guard let ring = shared.xfer[index][dst],
      let body = ring.reserve(type: XferType.packet.rawValue, bodyBytes: XferPacket.frameOffset + frameBytes)
    else {
      stats.add(.xferRingFull)
      stats.drop(.xferRingFull, kind, packetBytes: packetBytes)
      return
    }
    body.storeBytes(of: location.raw, as: UInt64.self)
    body.storeBytes(of: UInt64(kind.rawValue), toByteOffset: 8, as: UInt64.self)
    body.storeBytes(of: sender.raw, toByteOffset: XferPacket.senderOffset, as: UInt64.self)
    let frame = body + XferPacket.frameOffset
    FrameHeader.encode(type: .recvPacket, payloadBytes: DERPConstants.keyBytes + packetBytes, to: frame)
    source.store(to: frame + DERPConstants.frameHeaderBytes)
    (frame + FrameWriter.recvPacketHeaderBytes).copyMemory(from: packet, byteCount: packetBytes)
    ring.commit()
    stats.add(.xferPackets)
    touchedWorkers |= 1 << UInt64(dst & 63)
    if currentSender >= 0 && ring.usedBytes > Tuning.xferRingPauseBytes {
      backpressure(currentSender, waitingOn: -1 - Int32(dst))
    }
  }

  /// Sends a control record to every other worker.
  func broadcast(_ message: XferControl) {
    for w in 0..<shared.workerCount where w != index { sendControl(message, to: w) }
  }

  /// Sends a control record to worker `w`, keeping order behind earlier overflow.
  func sendControl(_ message: XferControl, to w: Int) {
    if overflow[w].isEmpty, push(message, to: w) { return }
    stats.add(.xferRingFull)
    overflow[w].append(message)
  }

  private func push(_ message: XferControl, to w: Int) -> Bool {
    guard let ring = shared.xfer[index][w],
      let body = ring.reserve(type: message.type.rawValue, bodyBytes: XferControl.bodyBytes)
    else { return false }
    message.write(to: body)
    ring.commit()
    touchedWorkers |= 1 << UInt64(w & 63)
    return true
  }

  /// Retries control records that found a ring full.
  func flushOverflow() {
    for w in 0..<shared.workerCount where !overflow[w].isEmpty {
      var sent = 0
      for message in overflow[w] {
        guard push(message, to: w) else { break }
        sent += 1
      }
      overflow[w].removeFirst(sent)
    }
  }

  /// Wakes the workers written to since the last call (only those that sleep).
  func wakeTouchedWorkers() {
    guard touchedWorkers != 0 else { return }
    if shared.workerCount <= 64 {
      var bits = touchedWorkers
      while bits != 0 {
        let w = bits.trailingZeroBitCount
        bits &= bits - 1
        shared.wake(w)
      }
    } else {
      for w in 0..<shared.workerCount where w != index { shared.wake(w) }
    }
    touchedWorkers = 0
  }

  /// Records are waiting in an inbound ring.
  func inboundXferHasData() -> Bool {
    for src in 0..<shared.workerCount where src != index {
      if shared.xfer[src][index]!.hasData { return true }
    }
    return false
  }

  /// Handles every record waiting in the inbound rings. Every record is taken:
  /// one congested destination never holds a ring (and the other flows in it)
  /// back; its remote senders are paused by message instead (Worker+RemoteBackpressure).
  @inline(__always)
  func drainXfer() {
    guard shared.workerCount > 1 else { return }
    for src in 0..<shared.workerCount where src != index {
      let ring = shared.xfer[src][index]!
      let backlogBytes = ring.consumerBacklogBytes
      while ring.consume(max: 256, { type, body, _ in handleXfer(type, body, from: src) }) == 256 {}
      // The producer pauses senders while this ring holds more than
      // xferRingPauseBytes and resumes them at xferRingResumeBytes. If it is
      // asleep nothing else tells it the ring drained, and its senders would
      // wait for its next tick (100 ms): large cross-worker packets crawled.
      // wake() only writes the eventfd of a sleeping worker.
      if backlogBytes > Tuning.xferRingResumeBytes { touchedWorkers |= 1 << UInt64(src & 63) }
    }
  }

  /// Handles one record from worker `src`.
  @inline(__always)
  private func handleXfer(_ type: UInt8, _ body: UnsafeMutableRawPointer, from src: Int) -> Bool {
    let location = PeerLocation(raw: body.load(fromByteOffset: type == XferType.packet.rawValue ? 0 : 32, as: UInt64.self))
    switch XferType(rawValue: type) {
    case .packet?:
      let kind: PacketKind = body.load(fromByteOffset: 8, as: UInt8.self) == PacketKind.disco.rawValue ? .disco : .other
      let frame = body + XferPacket.frameOffset
      let frameBytes = 5 + Int(UInt32(bigEndian: frame.loadUnaligned(fromByteOffset: 1, as: UInt32.self)))
      remotePauses.currentSender = body.load(fromByteOffset: XferPacket.senderOffset, as: UInt64.self)
      deliverFrame(location, frame: frame, frameBytes: frameBytes, kind: kind)
      remotePauses.currentSender = 0
    case .pause?:
      onRemotePause(location, from: src)
    case .resume?:
      onRemoteResume(location, from: src)
    case .add?:
      let key = DERPKey(bytes: body)
      peers.add(key, location, seq: body.load(fromByteOffset: 40, as: UInt64.self))
      updateDupGauges()
      tellWatchersPresent(key, at: location)
    case .remove?:
      let key = DERPKey(bytes: body)
      if peers.remove(key, location) == 0 { tellWatchersGone(key) }
      updateDupGauges()
    case .closePeer?:
      closeForMesh(location, key: DERPKey(bytes: body))
    case .activate?:
      peers.activate(DERPKey(bytes: body), location, seq: body.load(fromByteOffset: 40, as: UInt64.self))
    case .peerGone?:
      guard let conn = conns.resolve(slot: location.slot, generation: location.generation),
        conn.pointee.state == .registered
      else { return true }
      let reason = PeerGoneReason(rawValue: body.load(fromByteOffset: 40, as: UInt8.self)) ?? .disconnected
      if queuePeerGone(location.slot, conn, DERPKey(bytes: body), reason: reason) {
        stats.add(reason == .notHere ? .peerGoneNotHereFrames : .peerGoneDisconnectedFrames)
      }
      return true
    case .inheritSentTo?:
      let destination = body.load(fromByteOffset: 40, as: UInt64.self)
      guard let member = conns.resolve(slot: location.slot, generation: location.generation),
        member.pointee.state == .registered
      else {
        // The heir left too: someone else must tell `destination` (or it is told now).
        passOnReceiver(destination, of: DERPKey(bytes: body))
        return true
      }
      addSentTo(member, destination)
    case nil:
      break
    }
    return true
  }
}
