// DERP frame semantics over loopback (derp-protocol.md §3–§4): ping/pong,
// NotePreferred, PeerGone, duplicate keys, mesh-only frames, bad frames.
import Foundation
import HDClient
import HDProtocol
import XCTest
@testable import HDRelay

final class RelayFrameBehaviourTests: XCTestCase {
  var harness: RelayHarness!

  override func setUpWithError() throws { harness = try RelayHarness(workers: 2) }
  override func tearDown() { harness = nil }

  func testPingIsAnsweredWithPongOfTheFirstEightBytes() throws {
    let client = try harness.connect()
    try client.ping()
    let long = (1...16).map { UInt8($0) }
    try client.sendRawFrame(type: 0x12, payload: long)
    XCTAssertEqual(try client.receive(until: { if case .pong = $0 { return true } else { return false } }, timeoutSeconds: 3),
                   .pong(Array(long.prefix(8))))
    let short = try harness.connect()
    try short.sendRawFrame(type: 0x12, payload: [1, 2, 3])
    XCTAssertTrue(short.isClosedByServer(), "ping shorter than 8 bytes closes the connection")
  }

  func testNotePreferredIsRecordedAndBadLengthCloses() throws {
    let client = try harness.connect()
    func preferred() -> Bool? { harness.relay.peersSnapshot().first { $0.key == client.publicKey }?.isPreferred }
    XCTAssertEqual(preferred(), false)
    try client.notePreferred(true)
    try client.barrier()
    XCTAssertEqual(preferred(), true)
    try client.notePreferred(false)
    try client.barrier()
    XCTAssertEqual(preferred(), false)

    let bad = try harness.connect()
    try bad.sendRawFrame(type: 0x07, payload: [1, 1])
    XCTAssertTrue(bad.isClosedByServer())
  }

  func testPeerGoneDisconnectedGoesToReceiversWhenTheLastConnectionLeaves() throws {
    let leaverKeys = DERPKeyPair.generate()
    let first = try harness.connect(keys: leaverKeys)
    let second = try harness.connect(keys: leaverKeys)
    let receiver = try harness.connect()
    let bystander = try harness.connect()
    try first.send(to: receiver.publicKey, packet: [9])
    _ = try receiver.receivePacket()

    first.close()
    try receiver.barrier()
    Thread.sleep(forTimeInterval: 0.3)
    XCTAssertFalse(
      receiver.drainPending().contains(.peerGone(leaverKeys.publicKey, reason: 0)),
      "a connection of the key is still there")

    second.close()
    let gone = try receiver.receive(
      until: { if case .peerGone = $0 { return true } else { return false } }, timeoutSeconds: 3)
    XCTAssertEqual(gone, .peerGone(leaverKeys.publicKey, reason: PeerGoneReason.disconnected.rawValue))

    try bystander.barrier()
    XCTAssertFalse(bystander.drainPending().contains { if case .peerGone = $0 { return true } else { return false } },
                   "only peers that received from the key hear that it left")
  }

  func testPeerGoneNotHereForDiscoToUnknownKeysIsRateLimited() throws {
    let client = try harness.connect()
    let unknown = DERPKeyPair.generate().publicKey
    func notHereCount() throws -> Int {
      try client.barrier()
      return client.drainPending().filter { $0 == .peerGone(unknown, reason: PeerGoneReason.notHere.rawValue) }.count
    }
    for _ in 0..<6 { try client.send(to: unknown, packet: discoPacket()) }
    XCTAssertEqual(try notHereCount(), 3, "burst of 3")
    Thread.sleep(forTimeInterval: 1.2)
    for _ in 0..<3 { try client.send(to: unknown, packet: discoPacket()) }
    XCTAssertEqual(try notHereCount(), 1, "then one per second")
  }

  func testNonDiscoPacketsToUnknownKeysAreDroppedSilently() throws {
    let client = try harness.connect()
    let unknown = DERPKeyPair.generate().publicKey
    try client.send(to: unknown, packet: [UInt8](repeating: 1, count: 100))
    try client.send(to: unknown, packet: Array(discoPacket().prefix(61)))  // magic but too short
    try client.barrier()
    XCTAssertTrue(client.drainPending().isEmpty)
    XCTAssertFalse(client.isClosedByServer(timeoutSeconds: 0.3))
  }

  /// derper's "last writer is active": the newest connection of a key gets its
  /// packets, then whichever connection sent last, then the survivor.
  func testDuplicateKeysNewestThenLastSenderThenSurvivor() throws {
    let sender = try harness.connect()
    let keys = DERPKeyPair.generate()
    let older = try harness.connect(keys: keys)
    let newer = try harness.connect(keys: keys)

    try sender.send(to: keys.publicKey, packet: [1])
    XCTAssertEqual(try newer.receivePacket(timeoutSeconds: 3).packet, [1], "the newest connection is active")

    try older.barrier()  // the older one sends a frame and becomes active
    try sender.send(to: keys.publicKey, packet: [2])
    XCTAssertEqual(try older.receivePacket(timeoutSeconds: 3).packet, [2], "last sender is active")

    older.close()
    // The survivor takes over once the relay has seen the close.
    var delivered = false
    for attempt in 0..<20 where !delivered {
      try sender.send(to: keys.publicKey, packet: [3, UInt8(attempt)])
      if let got = try? newer.receivePacket(timeoutSeconds: 0.25), got.packet.first == 3 { delivered = true }
    }
    XCTAssertTrue(delivered, "back to the surviving connection")
    XCTAssertFalse(newer.drainPending().contains { $0 == .recvPacket(source: sender.publicKey, packet: [2]) })
  }

  func testMeshFramesWithoutMeshKeyCloseTheConnection() throws {
    let watcher = try harness.connect()
    try watcher.watchConns()
    XCTAssertTrue(watcher.isClosedByServer(), "WatchConns")

    let closer = try harness.connect()
    let victim = try harness.connect()
    try closer.closePeer(victim.publicKey)
    XCTAssertTrue(closer.isClosedByServer(), "ClosePeer")
    XCTAssertNoThrow(try victim.barrier(), "the named peer is untouched")

    let forwarder = try harness.connect()
    try forwarder.forwardPacket(source: DERPKeyPair.generate().publicKey, destination: victim.publicKey, packet: [1])
    XCTAssertTrue(forwarder.isClosedByServer(), "ForwardPacket")
  }

  func testUnknownFrameTypesAreSkipped() throws {
    let a = try harness.connect()
    let b = try harness.connect()
    try a.sendRawFrame(type: 0x0b, payload: [1, 2, 3])
    try a.sendRawFrame(type: 0x42, payload: [UInt8](repeating: 5, count: 3000))
    try a.sendRawFrame(type: 0x06, payload: [])  // KeepAlive from a client
    try a.sendRawFrame(type: 0x13, payload: [UInt8](repeating: 0, count: 8))  // unsolicited Pong
    try a.barrier()
    try a.send(to: b.publicKey, packet: [7, 7])
    XCTAssertEqual(try b.receivePacket().packet, [7, 7])
  }

  func testMalformedOrOversizedFramesCloseOnlyThatConnection() throws {
    let a = try harness.connect()
    let b = try harness.connect()
    let cases: [(String, (DERPClient) throws -> Void)] = [
      ("packet of 65537 bytes", { try $0.send(to: b.publicKey, packet: [UInt8](repeating: 0, count: 65537)) }),
      ("SendPacket shorter than a key", { try $0.sendRawFrame(type: 0x04, payload: [UInt8](repeating: 0, count: 31)) }),
      ("frame length far beyond any frame", { try $0.sendRaw([0x04, 0x7f, 0xff, 0xff, 0xff] + [UInt8](repeating: 0, count: 64)) }),
      ("ClosePeer of the wrong length", { try $0.sendRawFrame(type: 0x11, payload: [1]) }),
      ("Ping longer than 1000 bytes", { try $0.sendRawFrame(type: 0x12, payload: [UInt8](repeating: 0, count: 1001)) }),
    ]
    for (name, misbehave) in cases {
      let offender = try harness.connect()
      try misbehave(offender)
      XCTAssertTrue(offender.isClosedByServer(), name)
      try a.send(to: b.publicKey, packet: [1])
      XCTAssertEqual(try b.receivePacket().packet, [1], "others keep working after: \(name)")
    }
  }

  func testPacketSizesFromZeroToMaximumArriveIntact() throws {
    let a = try harness.connect()
    let b = try harness.connect()
    for size in [0, 1, 1400, 65536] {
      let packet = numberedPacket(size, bytes: size)
      try a.send(to: b.publicKey, packet: packet)
      let got = try b.receivePacket()
      XCTAssertEqual(got.source, a.publicKey)
      XCTAssertEqual(got.packet, packet, "size \(size)")
    }
    try a.send(to: a.publicKey, packet: [4, 2])
    XCTAssertEqual(try a.receivePacket().packet, [4, 2], "sending to one's own key works")
  }
}
