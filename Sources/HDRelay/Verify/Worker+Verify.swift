// The worker's side of verify_clients: after ClientInfo opens, the connection
// waits in `.verifying` (reading stopped, bytes already received kept) until
// the controller's answer comes back on this worker's result ring. The 10 s
// handshake deadline still applies. Nothing here blocks.
@preconcurrency import Glibc
import HDProtocol

extension Worker {
  /// Starts verification of a client whose ClientInfo opened with `box`.
  func beginVerification(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, key: DERPKey, box: NaClBox.SharedKey,
                         verifier: ClientVerifier) {
    conn.pointee.state = .verifying
    conn.pointee.key = key
    let location = PeerLocation(worker: index, slot: slot, generation: conn.pointee.generation).raw
    var peer = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    _ = withUnsafeMutablePointer(to: &peer) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(conn.pointee.fd, $0, &length) }
    }
    if verifier.submit(worker: index, VerifyRequest(location: location, key: key, peer: peer)) {
      verifier.waiting[index].boxes[location] = box
      return
    }
    settleVerification(slot, conn, .failed(.queueFull), box: box, verifier: verifier)
  }

  /// Applies every answer that came back for this worker's connections.
  func drainVerifyResults() {
    guard let verifier = shared.verifier else { return }
    verifier.drainResults(worker: index) { raw, outcome in
      guard let box = verifier.waiting[index].boxes.removeValue(forKey: raw) else { return }
      let location = PeerLocation(raw: raw)
      // The connection may have timed out, closed, or its slot been reused meanwhile.
      guard let conn = conns.resolve(slot: location.slot, generation: location.generation),
        conn.pointee.state == .verifying
      else { return }
      settleVerification(location.slot, conn, outcome, box: box, verifier: verifier)
    }
  }

  /// True when answers wait on this worker's result ring (checked before sleeping).
  var verifyResultsWaiting: Bool { shared.verifier?.results[index].hasData ?? false }

  private func settleVerification(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ outcome: VerifyOutcome,
                                  box: NaClBox.SharedKey, verifier: ClientVerifier) {
    var admit = false
    switch outcome {
    case .allowed:
      stats.add(.verifyAllowed)
      admit = true
    case .denied:
      stats.add(.verifyDenied)
    case .failed(let why):
      stats.add(VerifyCounters.counter(why))
      if verifier.failOpen && why.admitsWhenFailOpen {
        stats.add(.verifyFailOpenAdmits)
        admit = true
      }
    }
    guard admit else {
      // derper closes a rejected client without an error frame.
      return beginClose(slot, reason: .handshakeFailed)
    }
    admitClient(slot, conn, key: conn.pointee.key, box: box)
    replayHeldBytes(slot, conn)
    if conn.pointee.state == .closing { return finishCloseIfIdle(slot) }
    if conn.pointee.state == .registered && conn.pointee.flags.isDisjoint(with: [.paused, .backpressured]) {
      armRecv(slot)
    }
  }

  /// Bytes that arrived behind ClientInfo while verifying: kept, not parsed.
  func holdWhileVerifying(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>, _ p: UnsafeMutableRawPointer, _ count: Int) {
    let have = Int(conn.pointee.assemblyBytes)
    guard ensureAssemblyCapacity(slot, conn, have + count) else { return }
    (conn.pointee.assembly! + have).copyMemory(from: p, byteCount: count)
    conn.pointee.assemblyBytes = Int32(have + count)
  }

  /// Parses the held bytes as frames of the now registered peer.
  private func replayHeldBytes(_ slot: Int32, _ conn: UnsafeMutablePointer<Connection>) {
    let count = Int(conn.pointee.assemblyBytes)
    guard count > 0, let held = conn.pointee.assembly else { return }
    // Once per admitted client that pipelined frames: a copy off the packet path.
    let copy = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 8)
    defer { copy.deallocate() }
    copy.copyMemory(from: held, byteCount: count)
    releaseAssembly(conn)
    // Held like a receive (Worker.receiveHolding): the caller finishes a close.
    conn.pointee.pendingOps += 1
    receiveFrames(slot, conn, copy, count)
    conn.pointee.pendingOps -= 1
  }
}

/// verify_clients counter slots per error reason.
enum VerifyCounters {
  static func counter(_ why: VerifyError) -> Counter {
    switch why {
    case .unreachable: return .verifyErrUnreachable
    case .timeout: return .verifyErrTimeout
    case .badStatus: return .verifyErrBadStatus
    case .badResponse: return .verifyErrBadResponse
    case .queueFull: return .verifyErrQueueFull
    }
  }
}
