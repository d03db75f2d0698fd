// ClientInfo → registration → ServerInfo, inside the worker loop. One X25519
// (~30 µs, crypto_box_beforenm) per connection serves both opening ClientInfo
// and sealing ServerInfo; nothing here waits on the network.
import HDProtocol

extension Worker {
  func handleClientInfo(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, type: UInt8, payload: UnsafeMutableRawPointer, length: Int) {
    guard type == FrameType.clientInfo.rawValue,
      length >= DERPConstants.minClientInfoBytes, length <= DERPConstants.maxClientInfoBytes
    else { return failHandshake(slot, .badFirstFrame) }
    // ClientInfo payload: client key ‖ nonce ‖ box(JSON).
    let clientKey = DERPKey(bytes: payload)
    let box = NaClBox.SharedKey(peer: clientKey, own: shared.keyPair.privateKey)
    let sealed = UnsafeRawBufferPointer(start: payload + DERPConstants.keyBytes, count: length - DERPConstants.keyBytes)
    guard sealed.count >= NaClBox.overheadBytes else { return failHandshake(slot, .badClientInfo) }
    // One spare byte so the buffer has an address even for an empty message.
    var json = [UInt8](repeating: 0, count: sealed.count - NaClBox.overheadBytes + 1)
    let opened = json.withUnsafeMutableBytes { box.open(sealed, into: $0.baseAddress!) }
    guard let jsonBytes = opened else { return failHandshake(slot, .badClientInfo) }
    json.removeLast(json.count - jsonBytes)
    let info: ClientInfo
    do {
      info = try ClientInfo(json: json)  // derper closes on bad JSON too
    } catch {
      return failHandshake(slot, .badClientInfo)
    }
    if info.isProber { conn.pointee.flags.insert(.prober) }
    // A wrong or absent mesh key makes an ordinary client, as in derper.
    if let meshKey = shared.meshKey, let presented = info.meshKey, presented.constantTimeEquals(meshKey) {
      conn.pointee.flags.insert(.meshPeer)
      return admitClient(slot, conn, key: clientKey, box: box)  // mesh peers skip verify_clients
    }
    if let verifier = shared.verifier {
      return beginVerification(slot, conn, key: clientKey, box: box, verifier: verifier)
    }
    admitClient(slot, conn, key: clientKey, box: box)
  }

  /// Registers the client and sends ServerInfo (sealed with the handshake's shared key).
  func admitClient(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, key clientKey: DERPKey, box: NaClBox.SharedKey) {
    register(slot, conn, key: clientKey)
    let info = shared.serverInfoJSON
    let payloadBytes = NaClBox.overheadBytes + info.count
    enqueueControl(slot, conn, bytes: DERPConstants.frameHeaderBytes + payloadBytes) { out in
      FrameHeader.encode(type: .serverInfo, payloadBytes: payloadBytes, to: out)
      info.withUnsafeBytes { _ = box.seal($0, into: out + DERPConstants.frameHeaderBytes) }
    }
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
    conn.pointee.rateRefillNanoseconds = monotonicNanoseconds()
    let seq = shared.nextSequence()
    conn.pointee.registrationSeq = seq
    let location = PeerLocation(worker: index, slot: slot, generation: conn.pointee.generation)
    // Before the broadcast, so other workers' watchers find the address.
    recordInMeshDirectory(conn, at: location)
    if peers.add(key, location, seq: seq) { stats.add(.totalDupClientConns) }
    updateDupGauges()
    stats.add(.currentPeers)
    broadcast(.add(key: key, location: location, seq: seq))
    tellWatchersPresent(key, at: location)
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
