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

private func isPeerGone(_ frame: ReceivedFrame) -> Bool {
  if case .peerGone = frame { return true } else { return false }
}

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
    // /debug/mesh's view: the link, up, with bob (and B's own link into A) learned through it.
    let info = try XCTUnwrap(a.relay.meshInfo())
    XCTAssertEqual(info.links.map(\.peer), ["http://127.0.0.1:\(portB)"])
    XCTAssertEqual(info.links.first?.connected, true)
    XCTAssertTrue(info.links.first?.keys.contains(bob.publicKey) ?? false)
    XCTAssertEqual(Set(info.remoteKeys), Set(info.links[0].keys))
    for (i, size) in [0, 1, 1400, 65_536].enumerated() {
      try alice.send(to: bob.publicKey, packet: numberedPacket(i, bytes: size))
      XCTAssertEqual(try bob.receive(timeoutSeconds: 5), .recvPacket(source: alice.publicKey, packet: numberedPacket(i, bytes: size)))
      try bob.send(to: alice.publicKey, packet: numberedPacket(i, bytes: size))
      XCTAssertEqual(try alice.receive(timeoutSeconds: 5), .recvPacket(source: bob.publicKey, packet: numberedPacket(i, bytes: size)))
    }
    XCTAssertEqual(a.relay.statsSnapshot().meshForwardedPackets, 4)
    XCTAssertEqual(b.relay.statsSnapshot().meshForwardedPackets, 4)

    // Bob leaves B: A hears PeerGone and stops routing to him. alice received
    // from bob, so she is told (derper's rule: receivers of a source hear
    // when it leaves the region).
    bob.close()
    try waitUntil("A forgot bob") { a.relay.meshRoute(bob.publicKey) == nil }
    XCTAssertEqual(try alice.receive(until: isPeerGone, timeoutSeconds: 5), .peerGone(bob.publicKey, reason: 0))
    try alice.send(to: bob.publicKey, packet: [1, 2, 3])
    try alice.barrier()
    XCTAssertEqual(a.relay.statsSnapshot().dropped(.unknownDest), 1)
    XCTAssertEqual(a.relay.statsSnapshot().meshForwardedPackets, 4)

    // B goes away: A forgets everything it learned from B, and alice, who
    // received from carol, hears that carol is gone.
    let carol = try b.connect()
    try waitUntil("A learned carol") { a.relay.meshRoute(carol.publicKey) == 0 }
    try carol.send(to: alice.publicKey, packet: [4, 5, 6])
    XCTAssertEqual(try alice.receive(timeoutSeconds: 5), .recvPacket(source: carol.publicKey, packet: [4, 5, 6]))
    b.relay.stop(graceSeconds: 0)
    try waitUntil("A's link is down and carol forgotten") {
      a.relay.statsSnapshot().meshPeersConnected == 0 && a.relay.meshRoute(carol.publicKey) == nil
    }
    XCTAssertEqual(try alice.receive(until: isPeerGone, timeoutSeconds: 5), .peerGone(carol.publicKey, reason: 0))
  }

  /// derper's rule (derpserver.go sendPacket → noteSendFromSrc): the relay
  /// that DELIVERS a packet records its receiver for the packet's source; the
  /// source's relay records nothing for forwarded packets. So when bob (on B)
  /// leaves, dave (on A), who received from him, gets PeerGone; alice (on A),
  /// who only sent to him, gets nothing.
  func testPeerGoneAcrossTheMeshGoesToReceiversNotSenders() throws {
    let (portA, portB) = (Int(freeLoopbackPort()), Int(freeLoopbackPort()))
    let a = try relay(port: portA, peers: ["http://127.0.0.1:\(portB)"])
    let b = try relay(port: portB, peers: ["http://127.0.0.1:\(portA)"])
    let alice = try a.connect()
    let dave = try a.connect()
    let bob = try b.connect()
    try waitUntil("each relay learned the other's clients") {
      a.relay.meshRoute(bob.publicKey) == 0 && b.relay.meshRoute(alice.publicKey) == 0
        && b.relay.meshRoute(dave.publicKey) == 0
    }
    try alice.send(to: bob.publicKey, packet: [1])
    XCTAssertEqual(try bob.receive(timeoutSeconds: 5), .recvPacket(source: alice.publicKey, packet: [1]))
    try bob.send(to: dave.publicKey, packet: [2])
    XCTAssertEqual(try dave.receive(timeoutSeconds: 5), .recvPacket(source: bob.publicKey, packet: [2]))
    XCTAssertEqual(a.relay.meshReceiverCount(of: bob.publicKey), 1, "A remembers dave (not alice) for bob")
    XCTAssertEqual(b.relay.meshReceiverCount(of: alice.publicKey), 1, "B remembers bob as alice's receiver")

    bob.close()
    XCTAssertEqual(try dave.receive(until: isPeerGone, timeoutSeconds: 5), .peerGone(bob.publicKey, reason: 0))
    try alice.barrier()
    try dave.barrier()
    XCTAssertEqual(a.relay.statsSnapshot().peerGoneDisconnectedFrames, 1, "dave only; alice only sent to bob")
    XCTAssertThrowsError(try alice.receive(until: isPeerGone, timeoutSeconds: 0.3), "alice is not told")
  }

  /// A client moving from A to B (connects to B, then leaves A) stays in the
  /// region: nobody that received from it is told it left, and packets it
  /// sends from B still arrive. When it finally leaves B, everyone that
  /// received from it, on either relay, is told once.
  func testAKeyMovingBetweenRelaysIsNotGoneUntilItLeavesTheRegion() throws {
    let (portA, portB) = (Int(freeLoopbackPort()), Int(freeLoopbackPort()))
    let a = try relay(port: portA, peers: ["http://127.0.0.1:\(portB)"])
    let b = try relay(port: portB, peers: ["http://127.0.0.1:\(portA)"])
    let kimKeys = DERPKeyPair.generate()
    let kimOnA = try a.connect(keys: kimKeys)
    let dave = try a.connect()
    let erin = try b.connect()
    try waitUntil("both relays learned the other's clients") {
      b.relay.meshRoute(kimKeys.publicKey) == 0 && a.relay.meshRoute(erin.publicKey) == 0
    }
    try kimOnA.send(to: dave.publicKey, packet: [1])
    try kimOnA.send(to: erin.publicKey, packet: [2])
    XCTAssertEqual(try dave.receive(timeoutSeconds: 5), .recvPacket(source: kimKeys.publicKey, packet: [1]))
    XCTAssertEqual(try erin.receive(timeoutSeconds: 5), .recvPacket(source: kimKeys.publicKey, packet: [2]))

    let kimOnB = try b.connect(keys: kimKeys)
    try waitUntil("A learned kim is on B too") { a.relay.meshRoute(kimKeys.publicKey) == 0 }
    kimOnA.close()
    try waitUntil("B heard kim left A") { b.relay.meshRoute(kimKeys.publicKey) == nil }
    for (i, receiver) in [dave, erin].enumerated() {
      try kimOnB.send(to: receiver.publicKey, packet: [UInt8(10 + i)])
      XCTAssertEqual(try receiver.receive(timeoutSeconds: 5), .recvPacket(source: kimKeys.publicKey, packet: [UInt8(10 + i)]))
    }
    XCTAssertEqual(a.relay.statsSnapshot().peerGoneDisconnectedFrames, 0, "kim never left the region")
    XCTAssertEqual(b.relay.statsSnapshot().peerGoneDisconnectedFrames, 0, "kim never left the region")

    kimOnB.close()
    XCTAssertEqual(try dave.receive(until: isPeerGone, timeoutSeconds: 5), .peerGone(kimKeys.publicKey, reason: 0))
    XCTAssertEqual(try erin.receive(until: isPeerGone, timeoutSeconds: 5), .peerGone(kimKeys.publicKey, reason: 0))
    try dave.barrier()
    try erin.barrier()
    XCTAssertEqual(a.relay.statsSnapshot().peerGoneDisconnectedFrames, 1)
    XCTAssertEqual(b.relay.statsSnapshot().peerGoneDisconnectedFrames, 1)
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
      workers: 1, { $0.mesh.peers = ["https://127.0.0.1:\(portB)"]; $0.tlsCAFile = cert },
      adjust: { [meshKey] in $0.meshKey = meshKey; $0.meshRetrySeconds = 0.2 })
    try waitUntil("the link with the right CA is up and learned bob") { trusting.relay.meshRoute(bob.publicKey) == 0 }
    XCTAssertEqual(trusting.relay.statsSnapshot().meshPeersConnected, 1)

    let distrusting = try RelayHarness(
      workers: 1, { $0.mesh.peers = ["https://127.0.0.1:\(portB)"]; $0.tlsCAFile = otherCert },
      adjust: { [meshKey] in $0.meshKey = meshKey; $0.meshRetrySeconds = 0.2 })
    try waitUntil("the failure is logged, naming what was trusted") {
      distrusting.logs.lines.joined(separator: "\n").contains(
        "mesh: cannot reach https://127.0.0.1:\(portB): TLS certificate rejected")
        && distrusting.logs.lines.joined(separator: "\n").contains("(trusted: CA bundle \(otherCert) (tls_ca_file))")
    }
    Thread.sleep(forTimeInterval: 0.5)
    XCTAssertEqual(distrusting.relay.statsSnapshot().meshPeersConnected, 0)
    XCTAssertNil(distrusting.relay.meshRoute(bob.publicKey))
    XCTAssertEqual(b.relay.statsSnapshot().watchers, 1, "only the verified link watches B")
  }

  /// Without tls_ca_file a link trusts OpenSSL's default verify paths, so
  /// SSL_CERT_FILE and SSL_CERT_DIR (as OpenSSL and derper honour them) let a
  /// region on a private CA mesh without touching the system bundle; without
  /// them the private CA is not trusted and the log names what was.
  func testWithoutACAFileLinksTrustSSLCertFileAndSSLCertDir() throws {
    let tree = TestFixtureTree()
    let (cert, key) = try makeTestCertificate(tree, name: "relay-b", subjectAltName: "IP:127.0.0.1")
    let hashedDirectory = tree.path("hashed")
    try FileManager.default.createDirectory(atPath: hashedDirectory, withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: cert, toPath: hashedDirectory + "/" + (try subjectHash(cert)) + ".0")
    let portB = Int(freeLoopbackPort())
    let serverKeys = DERPKeyPair.generate()
    let tls = try RelayTLS(certificatePath: cert, keyPath: key, ktls: .off, serverKey: serverKeys.publicKey)
    let b = try RelayHarness(
      workers: 1, { $0.port = portB; $0.tlsCert = cert; $0.tlsKey = key; $0.ktls = .off },
      adjust: { [meshKey] in $0.meshKey = meshKey; $0.tls = tls; $0.serverKeyPair = serverKeys })
    let bob = try DERPClient.connectTLS(host: "127.0.0.1", port: UInt16(portB))
    defer {
      unsetenv("SSL_CERT_FILE")
      unsetenv("SSL_CERT_DIR")
    }
    func dialler() throws -> RelayHarness {
      try RelayHarness(
        workers: 1, { $0.mesh.peers = ["https://127.0.0.1:\(portB)"] },
        adjust: { [meshKey] in $0.meshKey = meshKey; $0.meshRetrySeconds = 0.2 })
    }

    unsetenv("SSL_CERT_FILE")
    unsetenv("SSL_CERT_DIR")
    let untrusting = try dialler()
    try waitUntil("the system store does not know the private CA, and the log says it was used") {
      untrusting.logs.lines.joined(separator: "\n").contains(
        "(trusted: OpenSSL default verify paths: file /usr/lib/ssl/cert.pem (SSL_CERT_FILE unset), "
          + "directory /usr/lib/ssl/certs (SSL_CERT_DIR unset))")
    }
    untrusting.relay.stop(graceSeconds: 0)
    XCTAssertNil(untrusting.relay.meshRoute(bob.publicKey))

    setenv("SSL_CERT_FILE", cert, 1)
    let byFile = try dialler()
    try waitUntil("SSL_CERT_FILE's CA is trusted") { byFile.relay.meshRoute(bob.publicKey) == 0 }
    byFile.relay.stop(graceSeconds: 0)

    unsetenv("SSL_CERT_FILE")
    setenv("SSL_CERT_DIR", "/nonexistent:" + hashedDirectory, 1)
    let byDirectory = try dialler()
    try waitUntil("SSL_CERT_DIR's hashed CA is trusted (second entry of the list)") {
      byDirectory.relay.meshRoute(bob.publicKey) == 0
    }
    XCTAssertEqual(b.relay.statsSnapshot().watchers, 1, "only the live verified link watches B")
  }

  /// `openssl x509 -hash`: the file name OpenSSL looks a CA up by in a directory.
  private func subjectHash(_ cert: String) throws -> String {
    let openssl = Process()
    openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    openssl.arguments = ["x509", "-hash", "-noout", "-in", cert]
    let out = Pipe()
    openssl.standardOutput = out
    try openssl.run()
    openssl.waitUntilExit()
    return String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      .trimmingCharacters(in: .whitespacesAndNewlines)
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
