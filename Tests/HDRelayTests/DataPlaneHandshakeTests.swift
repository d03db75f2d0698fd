// ClientInfo handling inside the worker loop: boxes that do not open (or are
// too short to be a box) close only that connection and are counted.
import Foundation
import HDClient
import HDProtocol
import XCTest
@testable import HDRelay

final class DataPlaneHandshakeTests: XCTestCase {
  func testClientInfoThatDoesNotOpenClosesOnlyThatConnection() throws {
    let harness = try RelayHarness(workers: 1)
    let peer = try harness.connect()
    // 56 bytes: key + nonce only; 60: shorter than a box; 100: a box with a wrong tag.
    for payloadBytes in [56, 60, 100] {
      let raw = try harness.rawConnection()
      raw.send("GET /derp HTTP/1.1\r\nHost: relay\r\nUpgrade: DERP\r\nConnection: Upgrade\r\n\r\n")
      var frame: [UInt8] = [FrameType.clientInfo.rawValue, 0, 0, 0, UInt8(payloadBytes)]
      frame += DERPKeyPair.generate().publicKey.bytes
      frame += (0..<(payloadBytes - 32)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
      raw.send(frame)
    }
    let deadline = Date().addingTimeInterval(5)
    while Date() < deadline,
      harness.relay.statsSnapshot().handshakeFailures[HandshakeFailure.badClientInfo.rawValue] < 3
    {
      Thread.sleep(forTimeInterval: 0.02)
    }
    let stats = harness.relay.statsSnapshot()
    XCTAssertEqual(stats.handshakeFailures[HandshakeFailure.badClientInfo.rawValue], 3)
    XCTAssertEqual(stats.currentPeers, 1, "none of them registered")
    // The registered peer is unaffected and a new client still gets in.
    let other = try harness.connect()
    try other.send(to: peer.publicKey, packet: [7, 7])
    XCTAssertEqual(try peer.receivePacket().packet, [7, 7])
  }
}
