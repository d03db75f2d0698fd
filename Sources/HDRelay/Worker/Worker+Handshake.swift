// ClientInfo → registration → ServerInfo, inside the worker loop. Opening the
// box costs one X25519 (~30 µs); nothing here waits on the network.
import HDProtocol

extension Worker {
  func handleClientInfo(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, type: UInt8, payload: UnsafeMutableRawPointer, length: Int) {
    guard type == FrameType.clientInfo.rawValue else { return failHandshake(slot, .badFirstFrame) }
    let opened: (clientKey: DERPKey, info: ClientInfo)
    do {
      opened = try Handshake.openClientInfo(
        payload: UnsafeRawBufferPointer(start: payload, count: length), serverPrivateKey: shared.keyPair.privateKey)
    } catch {
      switch error {
      case .payloadTooShort, .payloadTooLarge: return failHandshake(slot, .badFirstFrame)
      default: return failHandshake(slot, .badClientInfo)
      }
    }
    // A ClientInfo meshKey never matches: this relay has no mesh key (config
    // refuses one until mesh lands), so the client is an ordinary peer, as in derper.
    register(slot, conn, key: opened.clientKey)
    let frame = Handshake.sealServerInfoFrame(ServerInfo(), serverPrivateKey: shared.keyPair.privateKey,
                                              clientKey: opened.clientKey)
    enqueueControl(slot, conn, copying: frame)
  }

  /// Makes the connection the (newest, hence active) receiver for `key` on
  /// every worker's replica.
  private func register(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, key: DERPKey) {
    conn.pointee.key = key
    conn.pointee.state = .registered
    conn.pointee.registeredTick = tick
    conn.pointee.keepAliveTick = tick + keepAliveTicks + nextRandom() % keepAliveJitterTicks
    conn.pointee.notHereTokens = Tuning.notHereBurst
    conn.pointee.notHereTick = tick
    conn.pointee.rateTokens = rateBurstBytes
    conn.pointee.rateTick = tick
    let seq = shared.nextSequence()
    conn.pointee.registrationSeq = seq
    let location = PeerLocation(worker: index, slot: slot, generation: conn.pointee.generation)
    if peers.add(key, location, seq: seq) { stats.add(.totalDupClientConns) }
    updateDupGauges()
    stats.add(.currentPeers)
    broadcast(.add(key: key, location: location, seq: seq))
  }

  /// Worker 0 publishes the duplicate-key gauges from its replica (every
  /// replica holds the same sets; one writer avoids counting them N times).
  func updateDupGauges() {
    guard index == 0 else { return }
    stats.set(.currentDupClientKeys, peers.duplicates.count)
    stats.set(.currentDupClientConns, peers.dupConnectionCount)
  }

  func failHandshake(_ slot: Int32, _ why: HandshakeFailure) {
    stats.handshakeFailed(why)
    beginClose(slot, reason: .handshakeFailed)
  }
}
