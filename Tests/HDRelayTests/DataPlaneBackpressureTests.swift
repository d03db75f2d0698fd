// The queueing policy of docs/queueing.md over real sockets: a receiver that
// reads slowly gets every packet because the relay pauses the sender instead
// of dropping; one that stops reading is declared stalled and its sender is
// released (tested in DataPlaneDeliveryTests).
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

final class DataPlaneBackpressureTests: XCTestCase {
  func testSlowReceiverGetsEveryPacketInOrderThroughBackpressure() throws {
    let harness = try RelayHarness(workers: 1) { $0.sockbufBytes = 32 * 1024 }
    try slowReceiverGetsEveryPacket(harness, sender: try harness.connect(), receiver: try harness.connect())
    XCTAssertGreaterThan(harness.relay.statsSnapshot().backpressurePauses, 0, "the sender was paused, not the packets dropped")
  }

  func testSlowReceiverOnAnotherWorkerGetsEveryPacketThroughBackpressure() throws {
    let harness = try RelayHarness(workers: 2) { $0.sockbufBytes = 32 * 1024 }
    let sender = try harness.connect()
    var receiver = try harness.connect()
    func worker(_ c: DERPClient) -> Int? { harness.relay.peersSnapshot().first { $0.key == c.publicKey }?.worker }
    for _ in 0..<40 where worker(sender) == worker(receiver) {
      receiver.close()
      receiver = try harness.connect()
    }
    XCTAssertNotEqual(worker(sender), worker(receiver))
    try slowReceiverGetsEveryPacket(harness, sender: sender, receiver: receiver)
    // Across workers the SPSC ring (and a consumer that holds records for a
    // congested destination) is part of the buffer between the two sockets.
    XCTAssertGreaterThan(harness.relay.statsSnapshot().xferPackets, 0)
  }

  private func slowReceiverGetsEveryPacket(_ harness: RelayHarness, sender: DERPClient, receiver client: DERPClient) throws {
    let receiver = Handoff(client)
    let receiverKey = receiver.value.publicKey
    let count = 3000
    let result = Handoff<(received: Int, firstMismatch: Int?)>((0, nil))
    let finished = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
      defer { finished.signal() }
      for i in 0..<count {
        guard let packet = try? receiver.value.receivePacket(timeoutSeconds: 10) else { return }
        if packet.packet != numberedPacket(i, bytes: 1400) && result.value.firstMismatch == nil {
          result.value.firstMismatch = i
        }
        result.value.received += 1
        // Read much slower than the sender writes, in short naps (well under
        // the 500 ms that would mark the receiver stalled).
        if i % 100 == 0 { Thread.sleep(forTimeInterval: 0.02) }
      }
    }
    for i in 0..<count {
      try sender.send(to: receiverKey, packet: numberedPacket(i, bytes: 1400))
    }
    XCTAssertEqual(finished.wait(timeout: .now() + 60), .success)
    XCTAssertEqual(result.value.received, count, "every packet arrived")
    XCTAssertNil(result.value.firstMismatch, "in order and intact")
    let stats = harness.relay.statsSnapshot()
    XCTAssertEqual(stats.dropped(.queueHead) + stats.dropped(.queueTail), 0, "nothing dropped")
  }

  func testReceiverThatStopsReadingIsClosedAfterTheWriteTimeoutWhileItsSenderKeepsTalking() throws {
    let harness = try RelayHarness(workers: 1) { $0.sockbufBytes = 16 * 1024 }
    let sender = try harness.connect()
    let stalled = try harness.connect()  // never reads
    let friend = try harness.connect()
    let packet = [UInt8](repeating: 0x5A, count: 1400)
    let started = Date()
    var closedAfter: Double?
    var round = 0
    while Date().timeIntervalSince(started) < 6 {
      for _ in 0..<200 { try sender.send(to: stalled.publicKey, packet: packet) }
      // The sender is never held up for long: its packets to a friend still arrive.
      try sender.send(to: friend.publicKey, packet: numberedPacket(round, bytes: 64))
      XCTAssertEqual(try friend.receivePacket(timeoutSeconds: 2).packet, numberedPacket(round, bytes: 64))
      round += 1
      if harness.relay.statsSnapshot().writeTimeouts > 0 {
        closedAfter = Date().timeIntervalSince(started)
        break
      }
      Thread.sleep(forTimeInterval: 0.05)
    }
    let after = try XCTUnwrap(closedAfter, "the stalled receiver was closed by the write timeout")
    XCTAssertGreaterThanOrEqual(after, 1.5, "not before the 2 s write timeout (give or take a tick)")
    let stats = harness.relay.statsSnapshot()
    XCTAssertEqual(stats.writeTimeouts, 1)
    XCTAssertGreaterThan(stats.dropped(.writeError) + stats.dropped(.queueHead) + stats.dropped(.queueTail), 0)
    XCTAssertTrue(stalled.isClosedByServer(timeoutSeconds: 3))
  }
}
