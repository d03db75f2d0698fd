// Timed packet exchanges between probe clients: round trips through one node
// and one-way deliveries from a client on one node to a client on another
// (the mesh). Payloads carry a per-run nonce and a sequence number, so stray
// or late packets are never mistaken for the one being timed.
import HDClient
import HDProtocol

enum ProbePackets {
  static let magic: [UInt8] = Array("hdprobe1".utf8)

  static func payload(nonce: UInt64, sequence: UInt32, bytes: Int) -> [UInt8] {
    var packet = magic
    withUnsafeBytes(of: nonce.littleEndian) { packet += $0 }
    withUnsafeBytes(of: sequence.littleEndian) { packet += $0 }
    if packet.count < bytes { packet += [UInt8](repeating: 0x5a, count: bytes - packet.count) }
    return packet
  }

  /// `count` round trips a → b → a; the times in seconds, or why one failed.
  static func roundTrips(_ a: DERPClient, _ b: DERPClient, count: Int, bytes: Int, timeoutSeconds: Double)
    -> Result<[Double], ProbeStepFailure>
  {
    let nonce = UInt64.random(in: 1...UInt64.max)
    var times: [Double] = []
    for sequence in 0..<UInt32(count) {
      let packet = payload(nonce: nonce, sequence: sequence, bytes: bytes)
      let started = MonotonicClock.seconds()
      do {
        try a.send(to: b.publicKey, packet: packet)
        _ = try b.receive(until: { $0 == .recvPacket(source: a.publicKey, packet: packet) }, timeoutSeconds: timeoutSeconds)
        try b.send(to: a.publicKey, packet: packet)
        _ = try a.receive(until: { $0 == .recvPacket(source: b.publicKey, packet: packet) }, timeoutSeconds: timeoutSeconds)
      } catch {
        return .failure(ProbeStepFailure(
          kind: .packets, detail: "round trip \(sequence + 1) of \(count) failed after \(times.count) good: \(error)"))
      }
      times.append(MonotonicClock.seconds() - started)
    }
    return .success(times)
  }

  /// One-way deliveries from `sender` to `receiver` on different nodes. The
  /// sender's relay learns the receiver's key from its mesh link, so the
  /// first packets may be dropped there: a warm-up packet is repeated every
  /// 100 ms until one arrives or `timeoutSeconds` pass.
  static func meshDeliveries(_ sender: DERPClient, _ receiver: DERPClient, count: Int, bytes: Int, timeoutSeconds: Double)
    -> Result<[Double], ProbeStepFailure>
  {
    let nonce = UInt64.random(in: 1...UInt64.max)
    let deadline = MonotonicClock.seconds() + timeoutSeconds
    var attempts = 0
    warmUp: while true {
      let packet = payload(nonce: nonce, sequence: UInt32.max, bytes: bytes)
      do {
        try sender.send(to: receiver.publicKey, packet: packet)
        attempts += 1
        _ = try receiver.receive(until: { $0 == .recvPacket(source: sender.publicKey, packet: packet) }, timeoutSeconds: 0.1)
        break warmUp
      } catch DERPClientError.timedOut {
        if MonotonicClock.seconds() >= deadline {
          return .failure(ProbeStepFailure(
            kind: .mesh,
            detail: "no packet arrived in \(Int(timeoutSeconds)) s (\(attempts) sent): the relays do not forward between each other (mesh link down?)"))
        }
      } catch {
        return .failure(ProbeStepFailure(kind: .mesh, detail: "\(error)"))
      }
    }
    var times: [Double] = []
    for sequence in 0..<UInt32(count) {
      let packet = payload(nonce: nonce, sequence: sequence, bytes: bytes)
      let started = MonotonicClock.seconds()
      do {
        try sender.send(to: receiver.publicKey, packet: packet)
        _ = try receiver.receive(until: { $0 == .recvPacket(source: sender.publicKey, packet: packet) }, timeoutSeconds: timeoutSeconds)
      } catch {
        return .failure(ProbeStepFailure(kind: .mesh, detail: "packet \(sequence + 1) of \(count) lost after \(times.count) delivered: \(error)"))
      }
      times.append(MonotonicClock.seconds() - started)
    }
    return .success(times)
  }
}
