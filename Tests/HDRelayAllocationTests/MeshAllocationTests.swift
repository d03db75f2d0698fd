// The data plane's promise across the regional mesh: a packet from a client
// of relay A to a client of relay B goes A's worker → mesh outbox → link →
// B's worker (ForwardPacket, recording the receiver for PeerGone) → receiver,
// and neither relay's worker allocates per packet on the way. Two in-process
// relays (one worker each) meshed over loopback, 10 pairs, 1400-byte packets
// in lock-step rounds, every worker thread of both relays watched. The mesh
// link threads are the control plane and are not counted.
import Foundation
import HDClient
import HDConfig
import HDProtocol
import XCTest
@testable import HDRelay

final class MeshAllocationTests: XCTestCase {
  static let pairCount = 10
  static let packetBytes = 1400
  static let batchPackets = 10
  static let warmUpPackets = 5_000
  static let measuredPackets = 50_000
  static let allowedHeapCalls = UInt64(measuredPackets / 1000)

  func testForwardingToAnotherRelayDoesNotAllocatePerPacketOnEitherRelay() throws {
    let meshKey = DERPKey(hex: String(repeating: "6b", count: 32))!
    let (portA, portB) = (freePort(), freePort())
    let a = try meshedRelay(port: portA, peer: portB, meshKey: meshKey)
    defer { a.stop(graceSeconds: 0) }
    let b = try meshedRelay(port: portB, peer: portA, meshKey: meshKey)
    defer { b.stop(graceSeconds: 0) }

    var options = DERPClientOptions()
    options.handshakeTimeoutSeconds = 10
    let senders = try (0..<Self.pairCount).map { _ in
      try DERPClient.connect(host: "127.0.0.1", port: UInt16(portA), keys: .generate(), options: options)
    }
    let receivers = try (0..<Self.pairCount).map { _ in
      try DERPClient.connect(host: "127.0.0.1", port: UInt16(portB), keys: .generate(), options: options)
    }
    XCTAssertTrue(waitFor { receivers.allSatisfy { a.meshRoute($0.publicKey) != nil }
        && senders.allSatisfy { b.meshRoute($0.publicKey) != nil } }, "each relay learned the other's clients")

    let pump = RawPacketPairs(pairs: Array(zip(senders, receivers)), packetBytes: Self.packetBytes,
                              batchPackets: Self.batchPackets)
    let packetsPerRound = Self.batchPackets * Self.pairCount
    let warmedUp = try pump.run(rounds: Self.warmUpPackets / packetsPerRound)
    XCTAssertTrue(waitFor { b.statsSnapshot().packetsSent >= UInt64(warmedUp) }, "warm-up packets all sent")
    for receiver in receivers { XCTAssertEqual(a.meshReceiverCount(of: receiver.publicKey), 0) }
    for sender in senders { XCTAssertEqual(b.meshReceiverCount(of: sender.publicKey), 1, "B remembers the receiver") }
    let before = (a: a.statsSnapshot(), b: b.statsSnapshot())

    let threadIDs = (a.workersSnapshot() + b.workersSnapshot()).map(\.threadID)
    WorkerHeapWatch.start(threadIDs: threadIDs)
    let delivered = try pump.run(rounds: Self.measuredPackets / packetsPerRound)
    let completed = waitFor { b.statsSnapshot().packetsSent >= before.b.packetsSent + UInt64(delivered) }
    let perWorker = WorkerHeapWatch.stop(threadCount: threadIDs.count)
    let after = (a: a.statsSnapshot(), b: b.statsSnapshot())

    let total = perWorker.total
    print("[alloc] mesh A→B, \(delivered) packets of \(Self.packetBytes) B over \(Self.pairCount) pairs: worker heap "
      + "calls \(total); per worker \(perWorker.map(\.description))")
    XCTAssertEqual(delivered, Self.measuredPackets)
    XCTAssertTrue(completed, "every forwarded packet's send completed")
    XCTAssertEqual(after.a.meshForwardedPackets - before.a.meshForwardedPackets, UInt64(Self.measuredPackets),
                   "every packet crossed the mesh")
    if total.ownAllocations >= Self.allowedHeapCalls { WorkerHeapWatch.printFirstAllocationStacks() }
    XCTAssertLessThan(total.ownAllocations, Self.allowedHeapCalls, "workers allocated while forwarding: \(total)")
    XCTAssertLessThan(total.ownFrees, Self.allowedHeapCalls, "workers freed while forwarding: \(total)")
  }

  private func meshedRelay(port: Int, peer: Int, meshKey: DERPKey) throws -> Relay {
    var config = Config(port: port, bind: ["127.0.0.1"])
    config.mesh.peers = ["http://127.0.0.1:\(peer)"]
    var options = RelayOptions(config: config, serverKeyPair: .generate(), workerCount: 1)
    options.meshKey = meshKey
    options.meshRetrySeconds = 0.2
    let relay = try Relay(options: options)
    try relay.start()
    return relay
  }

  private func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    return Int(UInt16(bigEndian: address.sin_port))
  }

  /// Polls `condition` for up to 10 s.
  private func waitFor(_ condition: () -> Bool) -> Bool {
    for _ in 0..<1000 {
      if condition() { return true }
      usleep(10_000)
    }
    return false
  }
}
