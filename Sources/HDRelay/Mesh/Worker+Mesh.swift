// The server side of derper's regional mesh (spec §4.4): a client whose
// ClientInfo carries the relay's mesh key is a mesh peer and may send
//   WatchConns    — PeerPresent for every connected key now, then PeerPresent
//                   for each new connection and PeerGone(Disconnected) when a
//                   key's last connection leaves;
//   ClosePeer(K)  — every connection of K on this relay is closed;
//   ForwardPacket — a packet from another relay, delivered with the source
//                   key it names (one hop: never forwarded again).
// Anyone else sending these frames is closed (Worker+Frames.swift).
import HDProtocol

extension Worker {
  func handleMeshFrame(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, type: UInt8,
                       payload: UnsafeMutableRawPointer, length: Int) {
    guard conn.pointee.flags.contains(.meshPeer) else { return protocolViolation(slot) }
    switch type {
    case FrameType.watchConns.rawValue:
      guard length == 0 else { return protocolViolation(slot) }
      startWatching(slot, conn)
    case FrameType.closePeer.rawValue:
      guard length == DERPConstants.keyBytes else { return protocolViolation(slot) }
      closeEveryConnection(of: DERPKey(bytes: payload))
    default:  // ForwardPacket: source ‖ destination ‖ packet
      guard length >= 2 * DERPConstants.keyBytes, length - 2 * DERPConstants.keyBytes <= DERPConstants.maxPacketBytes
      else { return protocolViolation(slot) }
      forward(slot, conn, source: DERPKey(bytes: payload), destination: DERPKey(bytes: payload + DERPConstants.keyBytes),
              packet: payload + 2 * DERPConstants.keyBytes, packetBytes: length - 2 * DERPConstants.keyBytes,
              tracksSender: false)
    }
  }

  /// The watcher gets PeerPresent for every key connected now (its own
  /// included), from this worker's replica of the peer table.
  private func startWatching(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>) {
    guard !conn.pointee.flags.contains(.watcher) else { return }
    conn.pointee.flags.insert(.watcher)
    stats.add(.watchers)
    var keys: [DERPKey] = []
    var locations: [PeerLocation] = []
    keys.reserveCapacity(peers.count)
    locations.reserveCapacity(peers.count)
    peers.forEachActive { key, location in
      keys.append(key)
      locations.append(location)
    }
    let entries = shared.meshDirectory.entries(locations)
    var watcher = MeshWatchState.Watcher(slot: slot, generation: conn.pointee.generation)
    watcher.backlog.reserveCapacity(keys.count)
    for i in keys.indices { watcher.backlog.append(.init(key: keys[i], present: true, entry: entries[i])) }
    meshWatch.watchers.append(watcher)
    meshWatch.pending = true
  }

  /// A connection for `key` registered at `location` (here or on another worker).
  func tellWatchersPresent(_ key: DERPKey, at location: PeerLocation) {
    guard !meshWatch.watchers.isEmpty else { return }
    let item = MeshWatchState.Item(key: key, present: true, entry: shared.meshDirectory.entry(location))
    for i in meshWatch.watchers.indices { meshWatch.watchers[i].backlog.append(item) }
    meshWatch.pending = true
  }

  /// The last connection of `key` left the relay.
  func tellWatchersGone(_ key: DERPKey) {
    guard !meshWatch.watchers.isEmpty else { return }
    let item = MeshWatchState.Item(key: key, present: false, entry: nil)
    for i in meshWatch.watchers.indices { meshWatch.watchers[i].backlog.append(item) }
    meshWatch.pending = true
  }

  /// Queues what each watcher still has to be told, a block at a time while
  /// its control queue has room. Runs every loop iteration while `pending`.
  func flushWatchers() {
    var stillPending = false
    var i = 0
    while i < meshWatch.watchers.count {
      let w = meshWatch.watchers[i]
      guard let conn = conns.resolve(slot: w.slot, generation: w.generation), conn.pointee.state == .registered else {
        meshWatch.watchers.remove(at: i)
        continue
      }
      var sent = w.sent
      while sent < w.backlog.count && controlQueueRoom(conn) >= 2 {
        let end = min(w.backlog.count, sent + MeshWatchState.framesPerBlock)
        var bytes = 0
        for j in sent..<end { bytes += w.backlog[j].frameBytes }
        let first = sent
        let queued = enqueueControl(w.slot, conn, bytes: bytes) { out in
          var at = out
          for j in first..<end { at += Self.writeWatchFrame(w.backlog[j], to: at) }
        }
        guard queued else { break }
        sent = end
      }
      if sent == w.backlog.count {
        meshWatch.watchers[i].backlog.removeAll(keepingCapacity: w.backlog.count <= 1024)
        meshWatch.watchers[i].sent = 0
      } else {
        meshWatch.watchers[i].sent = sent
        stillPending = true
      }
      i += 1
    }
    meshWatch.pending = stillPending
  }

  private static func writeWatchFrame(_ item: MeshWatchState.Item, to out: UnsafeMutableRawPointer) -> Int {
    if item.present {
      let entry = item.entry ?? MeshDirectory.Entry(address: .unspecified, flags: .isRegular)
      return FrameWriter.peerPresent(item.key, address: entry.address, flags: entry.flags, to: out)
    }
    FrameHeader.encode(type: .peerGone, payloadBytes: DERPConstants.peerGonePayloadBytes, to: out)
    item.key.store(to: out + DERPConstants.frameHeaderBytes)
    (out + DERPConstants.frameHeaderBytes + DERPConstants.keyBytes)
      .storeBytes(of: PeerGoneReason.disconnected.rawValue, as: UInt8.self)
    return FrameWriter.peerGoneFrameBytes
  }

  /// ClosePeer(key): closes every connection of `key`, on every worker.
  private func closeEveryConnection(of key: DERPKey) {
    for member in peers.members(of: key) {
      if member.worker == index {
        closeForMesh(member, key: key)
      } else {
        sendControl(.closePeer(key: key, location: member), to: member.worker)
      }
    }
  }

  /// Closes the connection at `location` if it is still `key`'s.
  func closeForMesh(_ location: PeerLocation, key: DERPKey) {
    guard let conn = conns.resolve(slot: location.slot, generation: location.generation),
      conn.pointee.state == .registered, conn.pointee.key == key
    else { return }
    beginClose(location.slot, reason: .closedByMesh)
  }

  /// PeerGone(Disconnected) for mesh keys that left the other relays, to the
  /// local connections that had received from them (derper's rule). A key
  /// that is connected here now keeps them: its connection tells them when it
  /// leaves.
  @inline(__always)
  func deliverMeshGone() {
    guard let mesh = shared.mesh, mesh.goneMailboxes[index].hasItems else { return }
    for (key, location) in mesh.goneMailboxes[index].take() { passOnReceiver(location.raw, of: key) }
  }

  /// Registration side: remember where the connection comes from, for watchers.
  func recordInMeshDirectory(_ conn: UnsafeMutablePointer<Connection>, at location: PeerLocation) {
    guard shared.meshKey != nil else { return }
    let flags: PeerPresentFlags =
      conn.pointee.flags.contains(.meshPeer) ? .isMeshPeer : conn.pointee.flags.contains(.prober) ? .isProber : .isRegular
    shared.meshDirectory.insert(location, .init(address: Sockets.peerAddress(conn.pointee.fd), flags: flags))
  }

  /// Departure side: the connection leaves the directory and the watcher list.
  func meshConnectionLeft(_ conn: UnsafeMutablePointer<Connection>, at location: PeerLocation) {
    guard shared.meshKey != nil else { return }
    shared.meshDirectory.remove(location)
    if conn.pointee.flags.contains(.watcher) {
      conn.pointee.flags.remove(.watcher)
      stats.sub(.watchers)
      meshWatch.watchers.removeAll { $0.slot == location.slot && $0.generation == location.generation }
    }
  }
}
