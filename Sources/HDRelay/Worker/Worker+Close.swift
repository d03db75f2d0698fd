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
    let receivers = UnsafeBufferPointer(start: set, count: Int(conn.pointee.sentToCount))
    if remaining > 0 {
      // derper tracks receivers per key: a surviving duplicate inherits the set,
      // so the key's last connection still tells everyone it sent to.
      guard let survivor = peers.lookup(key) else { return }
      for destination in receivers { handReceiver(destination, of: key, to: survivor) }
      return
    }
    // Another relay of the region still has the key (a client moving between
    // relays connects to the new one first): like derper, nobody is told yet;
    // they are told when the key leaves the region.
    if let mesh = shared.mesh, mesh.routes.adoptReceivers(of: key, receivers) { return }
    for destination in receivers where destination != location.raw { tellPeerGone(key, to: PeerLocation(raw: destination)) }
  }

  /// `destination` received from `key`: the connection of `key` at `member`
  /// is now the one to tell it when `key` leaves.
  func handReceiver(_ destination: UInt64, of key: DERPKey, to member: PeerLocation) {
    guard member.worker != index else {
      guard let m = conns.resolve(slot: member.slot, generation: member.generation), m.pointee.state == .registered
      else { return tellPeerGone(key, to: PeerLocation(raw: destination)) }
      return addSentTo(m, destination)
    }
    sendControl(.inheritSentTo(key: key, member: member, destination: PeerLocation(raw: destination)),
                to: member.worker)
  }

  /// `destination` received from `key`, and whoever was to tell it when `key`
  /// leaves is gone: a connection of `key` still on this relay takes it over,
  /// else the mesh while another relay has `key`, else it is told now.
  func passOnReceiver(_ destination: UInt64, of key: DERPKey) {
    if let member = peers.lookup(key) { return handReceiver(destination, of: key, to: member) }
    if let mesh = shared.mesh, mesh.routes.adoptReceivers(of: key, CollectionOfOne(destination)) { return }
    tellPeerGone(key, to: PeerLocation(raw: destination))
  }

  /// PeerGone(Disconnected) for `key` to the connection at `destination`, on
  /// whichever worker it lives.
  func tellPeerGone(_ key: DERPKey, to destination: PeerLocation) {
    guard destination.worker == index else {
      return sendControl(.peerGone(key: key, location: destination, reason: .disconnected), to: destination.worker)
    }
    guard let d = conns.resolve(slot: destination.slot, generation: destination.generation),
      d.pointee.state == .registered
    else { return }
    if queuePeerGone(destination.slot, d, key, reason: .disconnected) { stats.add(.peerGoneDisconnectedFrames) }
  }
}
