// RecvPacket frames sent straight from the receive buffer their SendPacket
// arrived in (Worker+Forward, issue 15): the bytes arrive intact and in order,
// the buffer goes back to the kernel once its frames have left (or were freed
// with a closed receiver), and past the limit on held buffers (a quarter of
// the receive ring) frames are copied instead, and counted.
import Foundation
import HDClient
import HDProtocol
import XCTest
@testable import HDRelay

final class DataPlaneInPlaceTests: XCTestCase {
  /// Waits (sweeps set the gauge once a second) until `condition` holds.
  private func eventually(_ harness: RelayHarness, seconds: Double = 5, _ condition: (RelayStatsSnapshot) -> Bool) -> RelayStatsSnapshot {
    let deadline = Date().addingTimeInterval(seconds)
    var stats = harness.relay.statsSnapshot()
    while !condition(stats) && Date() < deadline {
      Thread.sleep(forTimeInterval: 0.1)
      stats = harness.relay.statsSnapshot()
    }
    return stats
  }

  func testFramesLeaveFromTheReceiveBufferIntactAndInOrder() throws {
    let harness = try RelayHarness(workers: 1)
    let pairs = try (0..<4).map { _ in (try harness.connect(), try harness.connect()) }
    let count = 400
    for i in 0..<count {
      for (sender, receiver) in pairs { try sender.send(to: receiver.publicKey, packet: numberedPacket(i, bytes: 1400)) }
    }
    for (sender, receiver) in pairs {
      for i in 0..<count {
        let got = try receiver.receivePacket(timeoutSeconds: 10)
        XCTAssertEqual(got.source, sender.publicKey)
        guard got.packet == numberedPacket(i, bytes: 1400) else { return XCTFail("packet \(i) differs or is out of order") }
      }
    }
    let stats = harness.relay.statsSnapshot()
    XCTAssertEqual(stats.packetsSent, UInt64(pairs.count * count))
    XCTAssertGreaterThan(stats.packetsSentInPlace, 0, "frames whole in a receive buffer leave from it")
    XCTAssertEqual(stats.inPlaceHoldLimitCopies, 0)
    XCTAssertEqual(eventually(harness) { $0.recvBuffersHeldForFrames == 0 }.recvBuffersHeldForFrames, 0,
                   "every buffer went back to the kernel once its frames had left")
  }

  /// Frames reassembled in a block (a frame cut across receives) or too big
  /// for one receive buffer are copied as before, and arrive intact.
  func testFramesCutAcrossReceivesAreCopiedAndIntact() throws {
    let harness = try RelayHarness(workers: 1)
    let sender = try harness.connect()
    let receiver = try harness.connect()
    let big = numberedPacket(7, bytes: DERPConstants.maxPacketBytes)
    try sender.send(to: receiver.publicKey, packet: big)
    XCTAssertEqual(try receiver.receivePacket(timeoutSeconds: 10).packet, big)
    XCTAssertEqual(harness.relay.statsSnapshot().packetsSentInPlace, 0, "a 64 KiB packet never fits one receive with its header")
  }

  /// With the limit reached (0 here) every frame is copied into packet
  /// memory instead, counted, and arrives intact.
  func testPastTheHoldLimitFramesAreCopiedAndCounted() throws {
    let harness = try RelayHarness(workers: 1, adjust: { $0.recvBuffersHeldForFramesMax = 0 })
    let sender = try harness.connect()
    let receiver = try harness.connect()
    for i in 0..<200 { try sender.send(to: receiver.publicKey, packet: numberedPacket(i, bytes: 1400)) }
    for i in 0..<200 { XCTAssertEqual(try receiver.receivePacket(timeoutSeconds: 10).packet, numberedPacket(i, bytes: 1400)) }
    let stats = harness.relay.statsSnapshot()
    XCTAssertEqual(stats.packetsSentInPlace, 0)
    XCTAssertEqual(stats.inPlaceHoldLimitCopies, 200, "each frame that would have left in place was copied")
  }

  /// Receivers that never read keep their queued frames, and so the receive
  /// buffers those point into (never more than the limit); when the receivers
  /// go, their frames are freed and every buffer comes back to the kernel.
  /// Traffic between two other peers flows throughout.
  func testStalledReceiversHoldTheirFramesBuffersUntilTheyAreClosed() throws {
    let harness = try RelayHarness(workers: 1) { $0.sockbufBytes = 16 * 1024 }
    let stalled = try (0..<3).map { _ in try harness.connect() }  // never read
    let filler = try harness.connect()
    let a = try harness.connect()
    let b = try harness.connect()
    let packet = [UInt8](repeating: 0x5A, count: 1400)
    for receiver in stalled {
      for _ in 0..<200 { try filler.send(to: receiver.publicKey, packet: packet) }
    }
    let during = eventually(harness) { $0.recvBuffersHeldForFrames > 0 }
    XCTAssertGreaterThan(during.recvBuffersHeldForFrames, 0, "queued frames hold their receive buffers")
    XCTAssertLessThanOrEqual(during.recvBuffersHeldForFrames, UInt64(Tuning.recvBuffersHeldForFramesMax))
    XCTAssertEqual(during.recvBufferExhaustions, 0, "the ring kept buffers for every socket")
    try a.send(to: b.publicKey, packet: numberedPacket(1, bytes: 1400))
    XCTAssertEqual(try b.receivePacket(timeoutSeconds: 5).packet, numberedPacket(1, bytes: 1400))

    for receiver in stalled { receiver.close() }
    let released = eventually(harness, seconds: 10) { $0.recvBuffersHeldForFrames == 0 }
    XCTAssertEqual(released.recvBuffersHeldForFrames, 0, "their frames were freed and the buffers went back")
    try a.send(to: b.publicKey, packet: numberedPacket(2, bytes: 1400))
    XCTAssertEqual(try b.receivePacket(timeoutSeconds: 5).packet, numberedPacket(2, bytes: 1400))
  }
}
