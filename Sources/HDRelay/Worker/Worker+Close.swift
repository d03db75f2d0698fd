// Closing a connection: unregister its key (PeerGone(Disconnected) to those it
// sent to when this was the key's last connection), shut the socket down so
// in-flight operations complete, and close the fd once none are left.
@preconcurrency import Glibc
import CURing
import HDProtocol

enum CloseReason {
  case peerClosed
  case protocolError
  case writeError
  case writeTimeout
  case handshakeFailed
  case badFirstFrame
  /// An HTTP answer (probe, 404, 426…) was written.
  case httpDone
  case stopping
  /// A mesh peer sent ClosePeer for this connection's key.
  case closedByMesh
}

extension Worker {
  func beginClose(_ slot: Int32, reason: CloseReason) {
    let conn = conns[slot]
    let state = conn.pointee.state
    guard state != .closing && state != .free else { return }
    if state == .http || state == .awaitingClientInfo || state == .verifying {
      switch reason {
      case .peerClosed: stats.handshakeFailed(.peerClosed)
      case .badFirstFrame: stats.handshakeFailed(.badFirstFrame)
      default: break  // counted by the caller (failHandshake, timeout) or not a failure (httpDone)
      }
    }
    if state == .registered { unregister(slot, conn) }
    noteTLSSetupEnd(conn, reason: reason)
    conn.pointee.state = .closing
    if reason == .writeTimeout { stats.add(.writeTimeouts) }
    // Nothing more will be written; queued packets are lost to a write error.
    if !conn.pointee.flags.contains(.sendInFlight) { dropSendQueue(conn) }
    releaseAssembly(conn)
    _ = shutdown(conn.pointee.fd, Int32(SHUT_RDWR))
    if conn.pointee.flags.contains(.recvArmed) { cancelRecv(slot, conn) }
    finishCloseIfIdle(slot)
  }

  /// Closes the fd and frees the slot once no operation of it is in flight.
  func finishCloseIfIdle(_ slot: Int32) {
    let conn = conns[slot]
    guard conn.pointee.state == .closing, conn.pointee.pendingOps == 0 else { return }
    dropSendQueue(conn)
    releaseAssembly(conn)
    releaseTLS(conn)
    if let set = conn.pointee.sentTo { set.deallocate() }
    conn.pointee.sentTo = nil
    if conn.pointee.flags.contains(.preferred) { stats.sub(.currentHomeConnections) }
    close(conn.pointee.fd)
    stats.sub(.currentConnections)
    switch conn.pointee.transport.mode {
    case .plain: stats.sub(.currentPlain)
    case .userspaceTLS: stats.sub(.currentUserspaceTLS)
    case .kernelTLS: stats.sub(.currentKernelTLS)
    }
    conns.free(slot)
  }

  func cancelRecv(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>) {
    hd_prep_cancel(ring.sqe(), UserData(.recv, slot: slot, generation: conn.pointee.generation).raw,
                   UserData(.cancel, slot: 0, generation: 0).raw)
  }

  /// Removes the connection from every replica; if its key has no other
  /// connection left, tells everyone it sent to that the key is gone.
  private func unregister(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>) {
    let key = conn.pointee.key
    let location = PeerLocation(worker: index, slot: slot, generation: conn.pointee.generation)
    let remaining = peers.remove(key, location)
    updateDupGauges()
    stats.sub(.currentPeers)
    broadcast(.remove(key: key, location: location))
    meshConnectionLeft(conn, at: location)
    if remaining == 0 { tellWatchersGone(key) }
    guard let set = conn.pointee.sentTo else { return }
    if remaining > 0 {
      // derper tracks senders per key: a surviving duplicate inherits the set,
      // so the key's last connection still tells everyone it sent to.
      guard let survivor = peers.lookup(key) else { return }
      for i in 0..<Int(conn.pointee.sentToCount) {
        if survivor.worker == index {
          if let s = conns.resolve(slot: survivor.slot, generation: survivor.generation) { addSentTo(s, set[i]) }
        } else {
          sendControl(.inheritSentTo(key: key, member: survivor, destination: PeerLocation(raw: set[i])),
                      to: survivor.worker)
        }
      }
      return
    }
    for i in 0..<Int(conn.pointee.sentToCount) {
      let dest = PeerLocation(raw: set[i])
      if dest.worker == index {
        guard let d = conns.resolve(slot: dest.slot, generation: dest.generation), d.pointee.state == .registered,
          dest.slot != slot
        else { continue }
        if queuePeerGone(dest.slot, d, key, reason: .disconnected) { stats.add(.peerGoneDisconnectedFrames) }
      } else {
        sendControl(.peerGone(key: key, location: dest, reason: .disconnected), to: dest.worker)
      }
    }
  }
}
