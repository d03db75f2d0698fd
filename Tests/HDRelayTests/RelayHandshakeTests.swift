// Connection setup: ClientInfo decoding, ServerInfo as the "registered" signal,
// the 10 s handshake deadline, and idle connections not blocking anyone.
import Foundation
import HDClient
import HDProtocol
import XCTest
@testable import HDRelay

final class RelayHandshakeTests: XCTestCase {
  /// Go's encoding/json matches field names case-insensitively, so a wrongly
  /// typed `VERSION` is an error just like `version`, and odd casing of valid
  /// fields is accepted. A case-sensitive decoder would accept the first case.
  func testClientInfoJSONIsDecodedCaseInsensitively() throws {
    let harness = try RelayHarness(workers: 1)
    let serverKey = harness.serverKeys.publicKey
    func attempt(_ json: String) throws -> UInt8? {
      let connection = try harness.rawConnection()
      XCTAssertTrue(connection.upgradeAndReadServerKey(serverKey: serverKey))
      connection.sendClientInfo(json: json, client: .generate(), serverKey: serverKey)
      return connection.readFrame(timeoutSeconds: 3)?.type
    }
    XCTAssertEqual(try attempt(#"{"VeRsIoN":2,"canackpings":true,"ISPROBER":false,"Unknown":[1,{"a":null}]}"#), 0x03)
    XCTAssertEqual(try attempt(#"{"version":2,"CanAckPings":true}"#), 0x03)
    XCTAssertNil(try attempt(#"{"VERSION":"two"}"#), "a mistyped field in any casing is rejected")
    XCTAssertNil(try attempt(#"{"canACKpings":"yes"}"#))
    XCTAssertNil(try attempt("not json"))
  }

  func testFirstFrameMustBeClientInfo() throws {
    let harness = try RelayHarness(workers: 1)
    let connection = try harness.rawConnection()
    XCTAssertTrue(connection.upgradeAndReadServerKey(serverKey: harness.serverKeys.publicKey))
    connection.sendFrame(type: 0x12, payload: [UInt8](repeating: 1, count: 8))  // a Ping instead
    XCTAssertNotNil(connection.secondsUntilClosed(timeoutSeconds: 3))
  }

  /// ServerInfo is sent only after registration, so a packet sent to a client
  /// the moment its ServerInfo arrived must be delivered. Repeated because the
  /// race it guards against is narrow.
  func testPacketSentRightAfterServerInfoIsDelivered() throws {
    let harness = try RelayHarness(workers: 2)
    let sender = try harness.connect()
    for round in 0..<30 {
      let receiver = try harness.connect()
      XCTAssertNotNil(receiver.serverInfo)
      let packet = numberedPacket(round, bytes: 100)
      try sender.send(to: receiver.publicKey, packet: packet)
      let got = try receiver.receivePacket(timeoutSeconds: 3)
      XCTAssertEqual(got.source, sender.publicKey)
      XCTAssertEqual(got.packet, packet, "round \(round)")
      receiver.close()
    }
  }

  /// The C++ server handshakes on one blocking thread, so one silent TCP
  /// connection stalls every newcomer. Here 100 of them sit while a new pair
  /// connects and exchanges packets.
  func testHundredIdleConnectionsDoNotBlockANewClient() throws {
    let harness = try RelayHarness(workers: 2)
    let idle = try (0..<100).map { _ in try harness.rawConnection() }
    let started = Date()
    let a = try harness.connect { $0.handshakeTimeoutSeconds = 5 }
    let b = try harness.connect { $0.handshakeTimeoutSeconds = 5 }
    try a.send(to: b.publicKey, packet: [1, 2, 3])
    XCTAssertEqual(try b.receivePacket(timeoutSeconds: 3).packet, [1, 2, 3])
    // Far below the 10 s an idle connection could hold a blocking accept loop.
    XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    XCTAssertEqual(idle.count, 100)
  }

  /// An idle TCP connection (nothing sent) is closed after the 10 s handshake
  /// deadline, and so is one that stops halfway through the handshake.
  func testHandshakeDeadlineClosesIdleConnectionsAfterTenSeconds() throws {
    let harness = try RelayHarness(workers: 1)
    let silent = try harness.rawConnection()
    let halfway = try harness.rawConnection()
    XCTAssertTrue(halfway.upgradeAndReadServerKey(serverKey: harness.serverKeys.publicKey))
    let silentAfter = silent.secondsUntilClosed(timeoutSeconds: 14)
    let halfwayAfter = halfway.secondsUntilClosed(timeoutSeconds: 4)
    let closedAfter = try XCTUnwrap(silentAfter, "idle connection still open after 14 s")
    XCTAssertGreaterThan(closedAfter, 8, "closed too early: the deadline is 10 s")
    XCTAssertNotNil(halfwayAfter, "a half-done handshake is held to the same deadline")
  }
}
