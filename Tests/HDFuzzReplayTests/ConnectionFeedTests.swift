// ConnectionFeed reaches what the server-connection target claims to fuzz:
// a sealed ClientInfo registers (mesh key → mesh peer), frames after it are
// handled (Ping → Pong), and bad input closes without leftovers.
import Foundation
import HDProtocol
import HDRelay
import XCTest

final class ConnectionFeedTests: XCTestCase {
  private static let upgrade = Array("GET /derp HTTP/1.1\r\nHost: t\r\nUpgrade: DERP\r\nConnection: Upgrade\r\n\r\n".utf8)

  private func clientInfo(_ feed: ConnectionFeed, json: String) -> [UInt8] {
    let client = DERPKeyPair(privateKey: DERPPrivateKey(raw: DERPKey(w0: 11, w1: 12, w2: 13, w3: 14)))
    var info = ClientInfo()
    if json.contains("mesh") { info.meshKey = feed.meshKey }
    return Handshake.sealClientInfoFrame(info, client: client, serverKey: feed.serverKeys.publicKey)
  }

  func testSealedClientInfoRegistersAndPingIsAnswered() throws {
    let feed = try ConnectionFeed()
    var ping = [UInt8](repeating: 0, count: 13)
    ping[0] = FrameType.ping.rawValue
    ping[4] = 8
    let stream = Self.upgrade + clientInfo(feed, json: "client") + ping
    let outcome = try feed.feed([stream[0..<10], stream[10..<100], stream[100...]])
    XCTAssertTrue(outcome.registered)
    XCTAssertFalse(outcome.meshPeer)
    XCTAssertTrue(outcome.output.starts(with: Array("HTTP/1.1 101".utf8)))
    // ServerKey, ServerInfo, Pong: the last frame carries the ping's 8 bytes back.
    XCTAssertEqual(Array(outcome.output.suffix(13).prefix(5)), [FrameType.pong.rawValue, 0, 0, 0, 8])
  }

  func testMeshKeyMakesAMeshPeer() throws {
    let feed = try ConnectionFeed()
    let outcome = try feed.feed([(Self.upgrade + clientInfo(feed, json: "mesh"))[...]])
    XCTAssertTrue(outcome.registered)
    XCTAssertTrue(outcome.meshPeer)
  }

  func testGarbageClosesWithoutLeftoversAndTheWorkerStaysUsable() throws {
    let feed = try ConnectionFeed()
    var oversize: [UInt8] = [FrameType.clientInfo.rawValue, 0x7f, 0xff, 0xff, 0xff]
    oversize += [UInt8](repeating: 1, count: 100)
    let rejected = try feed.feed([(Self.upgrade + oversize)[...]])
    XCTAssertFalse(rejected.registered)
    XCTAssertEqual(rejected.bytesFed, Self.upgrade.count + oversize.count)
    for _ in 0..<50 { _ = try feed.feed([Array("GET / HTTP/1.1\r\n\r\n".utf8)[...]]) }
    XCTAssertTrue(try feed.feed([(Self.upgrade + clientInfo(feed, json: "client"))[...]]).registered)
  }

  /// The tls-server-records target reaches OpenSSL's handshake: a recorded
  /// ClientHello, cut into small receives, is answered with a ServerHello
  /// (a handshake record), and the session is torn down after.
  func testTLSFeedAnswersARecordedClientHelloInPieces() throws {
    let seed = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("Fuzz/corpus/tls-server-records/seed-clienthello-13")
    let hello = Array(try Data(contentsOf: seed).dropFirst())  // first byte: the target's split seed
    XCTAssertEqual(hello.first, 0x16, "the seed is a TLS handshake record")
    let feed = try ConnectionFeed(tls: true)
    let pieces = stride(from: 0, to: hello.count, by: 7).map { hello[$0..<min($0 + 7, hello.count)] }
    let outcome = try feed.feed(pieces)
    XCTAssertEqual(outcome.bytesFed, hello.count)
    XCTAssertFalse(outcome.upgraded)
    XCTAssertEqual(Array(outcome.output.prefix(2)), [0x16, 0x03], "ServerHello record")
    // Plain HTTP on the TLS port is not TLS: no HTTP answer, nothing left behind.
    let plain = try feed.feed([Self.upgrade[...]])
    XCTAssertFalse(plain.upgraded)
    XCTAssertFalse(plain.output.starts(with: Array("HTTP/".utf8)))
  }

  /// A handshake that fails after OpenSSL queued the server's flight (a TLS
  /// 1.2 ClientHello, then an application record mid-handshake) sends that
  /// flight and the alert whole before closing; it used to send the first
  /// 512 bytes only, ending the stream inside a record (fuzz finding).
  func testFailedHandshakeSendsWholeRecordsEndingWithTheAlert() throws {
    let input = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("Fuzz/regressions/tls-server-records/server-flight-cut-before-alert")
    let stream = Array(try Data(contentsOf: input).dropFirst())
    let outcome = try ConnectionFeed(tls: true).feed([stream[...]])
    var offset = 0
    var types: [UInt8] = []
    while outcome.output.count - offset >= 5 {
      types.append(outcome.output[offset])
      offset += 5 + (Int(outcome.output[offset + 3]) << 8 | Int(outcome.output[offset + 4]))
    }
    XCTAssertEqual(offset, outcome.output.count, "output ends on a record boundary")
    XCTAssertGreaterThan(outcome.output.count, 512)
    XCTAssertEqual(types.first, 22, "server flight first")
    XCTAssertEqual(types.last, 21, "alert last")
  }
}
