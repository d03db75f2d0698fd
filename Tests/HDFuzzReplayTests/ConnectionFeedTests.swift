// ConnectionFeed reaches what the server-connection target claims to fuzz:
// a sealed ClientInfo registers (mesh key → mesh peer), frames after it are
// handled (Ping → Pong), and bad input closes without leftovers.
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
}
