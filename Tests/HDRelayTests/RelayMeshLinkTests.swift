// The client side of the mesh (mesh.peers): two in-process relays that dial
// each other with the mesh key, learn each other's clients and forward
// packets for them; links that drop forget what they learned; a peer that is
// this relay, or that does not accept our mesh key, is never used.
import Foundation
import HDClient
import HDConfig
import HDProtocol
import XCTest
@testable import HDRelay

final class RelayMeshLinkTests: XCTestCase {
  private let meshKey = DERPKey(hex: String(repeating: "3c", count: 32))!

  private func relay(port: Int, peers: [String], meshKey: DERPKey? = nil) throws -> RelayHarness {
    let key = meshKey ?? self.meshKey
    return try RelayHarness(
      workers: 2, { $0.port = port; $0.mesh.peers = peers },
      adjust: { $0.meshKey = key; $0.meshRetrySeconds = 0.2 })
  }

  func testTwoRelaysForwardEachOthersClientsPacketsAndForgetWhatLeaves() throws {
    let (portA, portB) = (Int(freeLoopbackPort()), Int(freeLoopbackPort()))
    let a = try relay(port: portA, peers: ["http://127.0.0.1:\(portB)"])
    let b = try relay(port: portB, peers: ["http://127.0.0.1:\(portA)"])
    try waitUntil("both links up") {
      a.relay.statsSnapshot().meshPeersConnected == 1 && b.relay.statsSnapshot().meshPeersConnected == 1
    }
    XCTAssertEqual(a.relay.statsSnapshot().meshPeersConfigured, 1)
    let alice = try a.connect()
    let bob = try b.connect()
    try waitUntil("each relay learned the other's client") {
      a.relay.meshRoute(bob.publicKey) == 0 && b.relay.meshRoute(alice.publicKey) == 0
    }
    for (i, size) in [0, 1, 1400, 65_536].enumerated() {
      try alice.send(to: bob.publicKey, packet: numberedPacket(i, bytes: size))
      XCTAssertEqual(try bob.receive(timeoutSeconds: 5), .recvPacket(source: alice.publicKey, packet: numberedPacket(i, bytes: size)))
      try bob.send(to: alice.publicKey, packet: numberedPacket(i, bytes: size))
      XCTAssertEqual(try alice.receive(timeoutSeconds: 5), .recvPacket(source: bob.publicKey, packet: numberedPacket(i, bytes: size)))
    }
    XCTAssertEqual(a.relay.statsSnapshot().meshForwardedPackets, 4)
    XCTAssertEqual(b.relay.statsSnapshot().meshForwardedPackets, 4)

    // Bob leaves B: A hears PeerGone, stops routing to him, and tells alice
    // (who sent to him) PeerGone(Disconnected), as derper does.
    bob.close()
    try waitUntil("A forgot bob") { a.relay.meshRoute(bob.publicKey) == nil }
    XCTAssertEqual(
      try alice.receive(until: { if case .peerGone = $0 { return true } else { return false } }, timeoutSeconds: 5),
      .peerGone(bob.publicKey, reason: 0))
    try alice.send(to: bob.publicKey, packet: [1, 2, 3])
    try alice.barrier()
    XCTAssertEqual(a.relay.statsSnapshot().dropped(.unknownDest), 1)
    XCTAssertEqual(a.relay.statsSnapshot().meshForwardedPackets, 4)

    // B goes away: A forgets everything it learned from B, and alice, who
    // sent to carol, hears that carol is gone.
    let carol = try b.connect()
    try waitUntil("A learned carol") { a.relay.meshRoute(carol.publicKey) == 0 }
    try alice.send(to: carol.publicKey, packet: [4, 5, 6])
    XCTAssertEqual(try carol.receive(timeoutSeconds: 5), .recvPacket(source: alice.publicKey, packet: [4, 5, 6]))
    b.relay.stop(graceSeconds: 0)
    try waitUntil("A's link is down and carol forgotten") {
      a.relay.statsSnapshot().meshPeersConnected == 0 && a.relay.meshRoute(carol.publicKey) == nil
    }
    XCTAssertEqual(
      try alice.receive(until: { if case .peerGone = $0 { return true } else { return false } }, timeoutSeconds: 5),
      .peerGone(carol.publicKey, reason: 0))
  }

  /// https peers must present a certificate that chains to the trust store
  /// and names the host dialled: otherwise a man in the middle would be
  /// handed the mesh key. The right CA links; another CA never does.
  func testHTTPSPeersAreVerifiedBeforeTheMeshKeyIsSent() throws {
    let tree = TestFixtureTree()
    let (cert, key) = try makeTestCertificate(tree, name: "relay-b", subjectAltName: "IP:127.0.0.1")
    let (otherCert, _) = try makeTestCertificate(tree, name: "someone-else", subjectAltName: "IP:127.0.0.1")
    let portB = Int(freeLoopbackPort())
    let serverKeys = DERPKeyPair.generate()
    let tls = try RelayTLS(certificatePath: cert, keyPath: key, ktls: .off, serverKey: serverKeys.publicKey)
    let b = try RelayHarness(
      workers: 1, { $0.port = portB; $0.tlsCert = cert; $0.tlsKey = key; $0.ktls = .off },
      adjust: { [meshKey] in $0.meshKey = meshKey; $0.tls = tls; $0.serverKeyPair = serverKeys })
    let bob = try DERPClient.connectTLS(host: "127.0.0.1", port: UInt16(portB))

    let trusting = try RelayHarness(
      workers: 1, { $0.mesh.peers = ["https://127.0.0.1:\(portB)"] },
      adjust: { [meshKey] in $0.meshKey = meshKey; $0.meshRetrySeconds = 0.2; $0.meshTrustedCertificatesFile = cert })
    try waitUntil("the link with the right CA is up and learned bob") { trusting.relay.meshRoute(bob.publicKey) == 0 }
    XCTAssertEqual(trusting.relay.statsSnapshot().meshPeersConnected, 1)

    let distrusting = try RelayHarness(
      workers: 1, { $0.mesh.peers = ["https://127.0.0.1:\(portB)"] },
      adjust: { [meshKey] in $0.meshKey = meshKey; $0.meshRetrySeconds = 0.2; $0.meshTrustedCertificatesFile = otherCert })
    try waitUntil("the failure is logged") {
      distrusting.logs.lines.joined(separator: "\n").contains("mesh: cannot reach https://127.0.0.1:\(portB)")
    }
    Thread.sleep(forTimeInterval: 0.5)
    XCTAssertEqual(distrusting.relay.statsSnapshot().meshPeersConnected, 0)
    XCTAssertNil(distrusting.relay.meshRoute(bob.publicKey))
    XCTAssertEqual(b.relay.statsSnapshot().watchers, 1, "only the verified link watches B")
  }

  /// A peer that accepts TCP and never answers keeps its link inside the
  /// handshake; stopping the relay must not wait for that.
  func testStopIsBoundedWhileALinkHangsInItsHandshake() throws {
    let (silent, silentPort) = boundLoopbackSocket()
    defer { close(silent) }
    XCTAssertEqual(listen(silent, 8), 0)
    let a = try relay(port: 0, peers: ["http://127.0.0.1:\(silentPort)"])
    Thread.sleep(forTimeInterval: 0.3)  // the link is connected and waiting for the 101
    let started = Date()
    a.relay.stop(graceSeconds: 0)
    XCTAssertLessThan(Date().timeIntervalSince(started), 4, "stop waited for the hanging handshake")
  }

  func testAPeerThatIsThisRelayIsNotUsed() throws {
    let port = Int(freeLoopbackPort())
    let a = try relay(port: port, peers: ["http://127.0.0.1:\(port)"])
    try waitUntil("the link noticed it reached this relay") {
      a.logs.lines.joined(separator: "\n").contains("is this relay (same server key)")
    }
    Thread.sleep(forTimeInterval: 0.5)  // several retry periods: it must not dial again
    let log = a.logs.lines.joined(separator: "\n")
    XCTAssertEqual(log.components(separatedBy: "is this relay (same server key)").count - 1, 1)
    XCTAssertEqual(a.relay.statsSnapshot().meshPeersConnected, 0)
    XCTAssertEqual(a.relay.statsSnapshot().watchers, 0)
  }

  func testAPeerWithAnotherMeshKeyNeverBecomesALink() throws {
    let (portA, portB) = (Int(freeLoopbackPort()), Int(freeLoopbackPort()))
    let b = try relay(port: portB, peers: [], meshKey: DERPKey(hex: String(repeating: "3d", count: 32))!)
    let a = try relay(port: portA, peers: ["http://127.0.0.1:\(portB)"])
    let bob = try b.connect()
    // A's WatchConns is refused by B (wrong key: an ordinary client); A retries and logs it.
    try waitUntil("A reported the failure") { a.logs.lines.joined(separator: "\n").contains("mesh: lost http://127.0.0.1:\(portB)") || a.logs.lines.joined(separator: "\n").contains("mesh: cannot reach") }
    Thread.sleep(forTimeInterval: 0.5)
    XCTAssertNil(a.relay.meshRoute(bob.publicKey))
    XCTAssertEqual(b.relay.statsSnapshot().watchers, 0)
    XCTAssertGreaterThan(b.relay.statsSnapshot().protocolErrors, 0, "B closed the impostor's WatchConns")
  }
}
