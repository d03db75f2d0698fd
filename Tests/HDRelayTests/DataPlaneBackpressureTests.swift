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
    let sender = try harness.connect()
    let receiver = Handoff(try harness.connect())
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
        // the 300 ms that would mark the receiver stalled).
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
    XCTAssertGreaterThan(stats.backpressurePauses, 0, "the sender was paused, not the packets dropped")
  }
}
