// Cross-worker backpressure (docs/queueing.md, "Across workers"): a congested
// destination on worker B never holds back the A→B ring, so other flows from
// A to B keep moving; the sender feeding it is paused by a message to its own
// worker and resumed when the destination drains or leaves.
import Foundation
import HDClient
import HDProtocol
import XCTest
@testable import HDRelay

/// Hands a client to one other thread (the test joins it before touching it again).
private final class Handoff<T>: @unchecked Sendable {
  var value: T
  init(_ value: T) { self.value = value }
}

final class DataPlaneCrossWorkerBackpressureTests: XCTestCase {
  /// Packets S1 sends to D: far more than the socket buffers plus the hard
  /// depth (128) hold, so without a pause some would be dropped.
  private let congestingPackets = 1000

  func testCongestedDestinationDoesNotHoldBackOtherFlowsBetweenTheSameWorkers() throws {
    let harness = try RelayHarness(workers: 2) { $0.sockbufBytes = 32 * 1024 }
    let s1 = try connect(harness, onWorker: 0)
    let s2 = try connect(harness, onWorker: 0)
    let d = try connect(harness, onWorker: 1)
    let r2 = try connect(harness, onWorker: 1)

    // D reads nothing yet: S1's flow congests it and S1 gets paused.
    let s1Done = startSending(s1, to: d.publicKey, count: congestingPackets)
    try waitUntil("S1 is paused on D's behalf") { harness.relay.statsSnapshot().backpressurePauses > 0 }

    // Another flow through the same A→B ring gets through at once.
    for i in 0..<200 { try s2.send(to: r2.publicKey, packet: numberedPacket(i, bytes: 1400)) }
    for i in 0..<200 {
      XCTAssertEqual(try r2.receivePacket(timeoutSeconds: 10).packet, numberedPacket(i, bytes: 1400), "packet \(i)")
    }
    // No drops yet: D was never declared stalled (a stall releases S1 and
    // drops D's excess), so R2's burst passed while D was congested. Before
    // the fix R2's packets waited in the ring behind D's until that stall.
    var stats = harness.relay.statsSnapshot()
    XCTAssertEqual(stats.dropped(.queueHead) + stats.dropped(.queueTail), 0, "R2's burst arrived before D stalled")
    XCTAssertEqual(s1Done.wait(timeout: .now()), .timedOut, "S1 is still held back by D")

    // D reads again: S1 resumes and every packet arrives in order.
    for i in 0..<congestingPackets {
      let packet = try d.receivePacket(timeoutSeconds: 10)
      XCTAssertEqual(packet.packet, numberedPacket(i, bytes: 1400), "packet \(i) in order and intact")
      if packet.packet != numberedPacket(i, bytes: 1400) { break }
    }
    XCTAssertEqual(s1Done.wait(timeout: .now() + 10), .success, "S1 finished sending")
    stats = harness.relay.statsSnapshot()
    XCTAssertEqual(stats.dropped(.queueHead) + stats.dropped(.queueTail), 0, "the sender was paused, nothing dropped")
    XCTAssertEqual(stats.xferRingFull, 0, "the A→B ring never filled")
    XCTAssertGreaterThan(stats.backpressurePauses, 0)
  }

  func testDestinationClosingReleasesItsPausedSenderOnAnotherWorker() throws {
    let harness = try RelayHarness(workers: 2) { $0.sockbufBytes = 32 * 1024 }
    let s1 = try connect(harness, onWorker: 0)
    let d = try connect(harness, onWorker: 1)
    let friend = try connect(harness, onWorker: 1)

    let s1Done = startSending(s1, to: d.publicKey, count: congestingPackets)
    try waitUntil("S1 is paused on D's behalf") { harness.relay.statsSnapshot().backpressurePauses > 0 }
    XCTAssertEqual(s1Done.wait(timeout: .now()), .timedOut, "S1 is held back by D")
    d.close()
    // The relay reads S1 again (what it still sends to D is dropped as unknown).
    XCTAssertEqual(s1Done.wait(timeout: .now() + 10), .success, "S1 was released when D left")
    try s1.send(to: friend.publicKey, packet: numberedPacket(7, bytes: 64))
    XCTAssertEqual(try friend.receivePacket(timeoutSeconds: 10).packet, numberedPacket(7, bytes: 64))
  }

  // MARK: Helpers

  /// A client whose connection the relay placed on `worker` (reconnects until it is).
  private func connect(_ harness: RelayHarness, onWorker worker: Int) throws -> DERPClient {
    for _ in 0..<100 {
      let client = try harness.connect()
      if harness.relay.peersSnapshot().first(where: { $0.key == client.publicKey })?.worker == worker { return client }
      client.close()
    }
    XCTFail("the kernel never placed a connection on worker \(worker) in 100 tries")
    throw DERPClientError.timedOut
  }

  /// Sends `count` numbered 1400-byte packets from a background thread (the
  /// sends block while the relay does not read the sender); signals when done.
  private func startSending(_ client: DERPClient, to key: DERPKey, count: Int) -> DispatchSemaphore {
    // A fixed send buffer: with autotuning the kernel grows it towards
    // tcp_wmem's maximum (4 MB), which swallows all 1.4 MB while the relay
    // reads nothing, and "S1 finished" would no longer mean "the relay read S1".
    if let plain = client.transport as? PlainTransport {
      var sendBufferBytes: Int32 = 32 * 1024
      setsockopt(plain.fileDescriptor, SOL_SOCKET, SO_SNDBUF, &sendBufferBytes, socklen_t(MemoryLayout<Int32>.size))
    }
    let sender = Handoff(client)
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
      for i in 0..<count {
        guard (try? sender.value.send(to: key, packet: numberedPacket(i, bytes: 1400))) != nil else { break }
      }
      done.signal()
    }
    return done
  }

}
