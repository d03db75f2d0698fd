// Data-plane delivery over real sockets and io_uring on loopback: packet sizes
// at the protocol's edges, cross-worker routing, many concurrent pairs with
// resources returning to baseline, a stalled receiver, idle connections.
import Foundation
import HDClient
import HDProtocol
import XCTest
@testable import HDRelay

final class DataPlaneDeliveryTests: XCTestCase {
  func testPacketsOfEdgeSizesArriveIntactBothWaysOnOneWorker() throws {
    try exchangeEdgeSizes(workers: 1)
  }

  func testPacketsOfEdgeSizesArriveIntactBothWaysAcrossWorkers() throws {
    let harness = try RelayHarness(workers: 2)
    // Keep connecting until the two peers sit on different workers.
    var a = try harness.connect()
    var b = try harness.connect()
    for _ in 0..<40 where workerOf(a, harness) == workerOf(b, harness) {
      b.close()
      b = try harness.connect()
    }
    XCTAssertNotEqual(workerOf(a, harness), workerOf(b, harness), "SO_REUSEPORT spread 40 connections on one worker")
    try exchange(a, b)
    XCTAssertGreaterThan(harness.relay.statsSnapshot().xferPackets, 0, "packets crossed workers through the SPSC rings")
    a.close()
    a = try harness.connect()
    _ = a
  }

  private func exchangeEdgeSizes(workers: Int) throws {
    let harness = try RelayHarness(workers: workers)
    let a = try harness.connect()
    let b = try harness.connect()
    try exchange(a, b)
    // Send completions are counted when the kernel reports them, a moment after the client read.
    XCTAssertTrue(waitUntil { harness.relay.statsSnapshot().packetsSent == 8 })
    XCTAssertEqual(harness.relay.statsSnapshot().packetsReceived, 8)
  }

  private func exchange(_ a: DERPClient, _ b: DERPClient) throws {
    for size in [0, 1, 100, 65_536] {
      let forward = numberedPacket(size, bytes: size)
      try a.send(to: b.publicKey, packet: forward)
      let got = try b.receivePacket()
      XCTAssertEqual(got.source, a.publicKey)
      XCTAssertEqual(got.packet, forward, "A→B \(size) bytes")
      let back = numberedPacket(size + 1, bytes: size)
      try b.send(to: a.publicKey, packet: back)
      let gotBack = try a.receivePacket()
      XCTAssertEqual(gotBack.source, b.publicKey)
      XCTAssertEqual(gotBack.packet, back, "B→A \(size) bytes")
    }
  }

  private func workerOf(_ client: DERPClient, _ harness: RelayHarness) -> Int? {
    harness.relay.peersSnapshot().first { $0.key == client.publicKey }?.worker
  }

  func testThousandPeersInFiveHundredPairsThenResourcesReturnToBaseline() throws {
    let harness = try RelayHarness(workers: 2)
    // Warm up once so lazily created runtime state is part of the baseline.
    do {
      let a = try harness.connect()
      let b = try harness.connect()
      try a.send(to: b.publicKey, packet: [1])
      _ = try b.receivePacket()
      a.close()
      b.close()
    }
    XCTAssertTrue(waitUntil { harness.relay.statsSnapshot().currentConnections == 0 })
    Thread.sleep(forTimeInterval: 1.2)  // one sweep: idle pools give their pages back
    let baselineFDs = openFileDescriptors()
    let baselineRSS = residentBytes()

    var clients: [DERPClient] = []
    for _ in 0..<1000 { clients.append(try harness.connect()) }
    XCTAssertEqual(harness.relay.statsSnapshot().currentPeers, 1000)
    for round in 0..<3 {
      for pair in 0..<500 {
        let a = clients[2 * pair], b = clients[2 * pair + 1]
        try a.send(to: b.publicKey, packet: numberedPacket(pair &+ round, bytes: 1200))
        try b.send(to: a.publicKey, packet: numberedPacket(pair &+ round &+ 7, bytes: 300))
      }
      for pair in 0..<500 {
        let a = clients[2 * pair], b = clients[2 * pair + 1]
        let toB = try b.receivePacket()
        XCTAssertEqual(toB.source, a.publicKey)
        XCTAssertEqual(toB.packet, numberedPacket(pair &+ round, bytes: 1200))
        let toA = try a.receivePacket()
        XCTAssertEqual(toA.source, b.publicKey)
        XCTAssertEqual(toA.packet, numberedPacket(pair &+ round &+ 7, bytes: 300))
      }
    }
    XCTAssertTrue(waitUntil { harness.relay.statsSnapshot().packetsSent == 3000 + 1 })
    let stats = harness.relay.statsSnapshot()
    XCTAssertEqual(stats.dropped(.queueHead) + stats.dropped(.queueTail) + stats.dropped(.unknownDest), 0)
    for c in clients { c.close() }
    clients = []
    XCTAssertTrue(waitUntil(seconds: 10) { harness.relay.statsSnapshot().currentConnections == 0 })
    XCTAssertTrue(waitUntil(seconds: 5) { self.openFileDescriptors() <= baselineFDs }, "fds back to baseline")
    Thread.sleep(forTimeInterval: 1.5)
    let grownBytes = residentBytes() - baselineRSS
    XCTAssertLessThan(grownBytes, 24 << 20, "RSS back near baseline (grew \(grownBytes >> 10) KiB)")
  }

  func testStalledReceiverKeepsRelayMemoryBoundedAndOtherPairsFlowing() throws {
    let harness = try RelayHarness(workers: 2) { $0.sockbufBytes = 64 * 1024 }
    let sender = try harness.connect()
    let stalled = try harness.connect()  // never reads
    let a = try harness.connect()
    let b = try harness.connect()
    let packet = [UInt8](repeating: 0xAB, count: 1400)
    let rssBefore = residentBytes()
    // ~70 MB at a receiver that never reads: its socket buffers fill and its
    // queue (32 packets) drops; the relay must neither grow nor stall.
    for i in 0..<50_000 {
      try sender.send(to: stalled.publicKey, packet: packet)
      if i % 5_000 == 0 {
        try a.send(to: b.publicKey, packet: numberedPacket(i, bytes: 500))
        XCTAssertEqual(try b.receivePacket().packet, numberedPacket(i, bytes: 500), "other pair still flows")
      }
    }
    try sender.barrier()
    let stats = harness.relay.statsSnapshot()
    XCTAssertGreaterThan(stats.dropped(.queueHead) + stats.dropped(.queueTail) + stats.writeTimeouts, 0)
    XCTAssertLessThan(residentBytes() - rssBefore, 32 << 20, "relay memory stays bounded")
    try a.send(to: b.publicKey, packet: [42])
    XCTAssertEqual(try b.receivePacket().packet, [42])
    _ = stalled
  }

  func testHundredIdleConnectionsDoNotDelayANewClientsHandshake() throws {
    let harness = try RelayHarness(workers: 1)
    var idle: [RawConnection] = []
    for _ in 0..<100 { idle.append(try harness.rawConnection()) }
    let started = Date()
    let a = try harness.connect()
    let b = try harness.connect()
    try a.send(to: b.publicKey, packet: [1, 2, 3])
    XCTAssertEqual(try b.receivePacket().packet, [1, 2, 3])
    XCTAssertLessThan(Date().timeIntervalSince(started), 5, "handshakes ran while 100 connections sat idle")
    XCTAssertEqual(harness.relay.statsSnapshot().currentConnections, 102)
    _ = idle
  }

  // MARK: Helpers

  private func waitUntil(seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
      if condition() { return true }
      Thread.sleep(forTimeInterval: 0.05)
    }
    return condition()
  }

  func openFileDescriptors() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
  }

  private func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return (Int(fields[1]) ?? 0) * Int(getpagesize())
  }
}
