// Answers to other threads' questions (/debug/peers), built between loop
// iterations so the data path never takes a lock.
import CURing

extension Worker {
  func handleControlRequests() {
    guard hd_load_relaxed(controlPending) != 0 else { return }
    hd_store_relaxed(controlPending, 0)
    let wanted = control.withLock { $0.peersRequested }
    guard wanted else { return }
    let reply = peerInfos()
    control.withLock {
      $0.peersRequested = false
      $0.peersReply = reply
    }
  }

  private func peerInfos() -> [PeerInfo] {
    var result: [PeerInfo] = []
    for s in 0..<Int(conns.highWater) {
      let slot = Int32(s)
      let conn = conns[slot]
      guard conn.pointee.state == .registered else { continue }
      let key = conn.pointee.key
      let me = PeerLocation(worker: index, slot: slot, generation: conn.pointee.generation)
      result.append(PeerInfo(
        key: key, remoteAddress: Sockets.peerAddressText(conn.pointee.fd), worker: index,
        isPreferred: conn.pointee.flags.contains(.preferred), isDuplicate: peers.duplicates[key] != nil,
        isActive: peers.lookup(key) == me, transport: conn.pointee.transport.mode,
        queuedPackets: conn.pointee.sendQueue.map { SendQueue($0).queuedPackets } ?? 0,
        connectedSeconds: Double(tick &- conn.pointee.registeredTick) / 10))
    }
    return result
  }
}
