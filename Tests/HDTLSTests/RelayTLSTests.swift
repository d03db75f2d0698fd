// TLS on the relay's DERP port, on this host (userspace TLS; kernel TLS is
// covered by Tests/vm): DERP over TLS 1.3 and 1.2 with the project's client,
// bad input on one connection never disturbing the others, `ktls: required`
// refusing without kernel TLS, certificate reload.
import Foundation
import HDClient
import HDConfig
import HDProtocol
import XCTest

@testable import HDRelay
@testable import HDTLS

final class RelayTLSTests: XCTestCase {
  static let sizes = [0, 1, 1_400, 16_384, 16_385, 65_536]

  private var relay: Relay!
  private var relayTLS: RelayTLS!
  private var serverKeys = DERPKeyPair.generate()
  private var port: UInt16 = 0

  override func setUpWithError() throws {
    _ = try TLSFixtures.context()  // makes the certificate, ignores SIGPIPE
    let config = Config(port: 0, bind: ["127.0.0.1"], tlsCert: TLSFixtures.certPath, tlsKey: TLSFixtures.keyPath, ktls: .auto)
    relayTLS = try RelayTLS(
      certificatePath: TLSFixtures.certPath, keyPath: TLSFixtures.keyPath, ktls: .auto, serverKey: serverKeys.publicKey,
      kernelProbe: { .failure(KernelTLSUnavailable(cause: .moduleAbsent, errnoCode: ENOENT, step: "test")) })
    relay = try Relay(options: RelayOptions(config: config, serverKeyPair: serverKeys, workerCount: 1, tls: relayTLS))
    try relay.start()
    port = UInt16(relay.boundPorts[0])
  }

  override func tearDown() {
    relay?.stop(graceSeconds: 0)
    relay = nil
    // XCTest on Linux never frees its test case objects: what they still hold
    // at the end reads as a leak under LeakSanitizer (Tests/suites/sanitizers.sh).
    relayTLS = nil
  }

  private func client(_ version: TLSVersion) throws -> DERPClient {
    try DERPClient.connectTLS(host: "127.0.0.1", port: port, tls: TLSClientOptions(version: version))
  }

  private func assertExchange(_ a: DERPClient, _ b: DERPClient, sizes: [Int] = RelayTLSTests.sizes,
                              file: StaticString = #filePath, line: UInt = #line) throws {
    for size in sizes {
      for (from, to) in [(a, b), (b, a)] {
        let packet = pattern(size, seed: UInt8(truncatingIfNeeded: size))
        try from.send(to: to.publicKey, packet: packet)
        let frame = try to.receive(until: { if case .recvPacket = $0 { return true } else { return false } }, timeoutSeconds: 10)
        XCTAssertEqual(frame, .recvPacket(source: from.publicKey, packet: packet), "size \(size)", file: file, line: line)
      }
    }
  }

  /// Waits until the relay closes `fd` (EOF/reset); false on timeout.
  private func closedByRelay(_ fd: Int32, seconds: Int) -> Bool {
    setReceiveTimeout(fd, seconds: seconds)
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
      let n = recv(fd, &buffer, buffer.count, 0)
      if n > 0 { continue }
      return n == 0 || errno == ECONNRESET
    }
  }

  private func rawConnection() throws -> Int32 {
    try TCPConnector.connect(host: "127.0.0.1", port: port)
  }

  private var tlsStats: TLSStatsSnapshot { relay.statsSnapshot().tls }

  // MARK: DERP over TLS

  func testDERPOverTLS13WithMetaCertificate() throws {
    let a = try client(.tls13)
    let b = try client(.tls13)
    let stream = try XCTUnwrap((a.transport as? TLSTransport)?.stream)
    XCTAssertEqual(stream.version, .tls13)
    XCTAssertEqual(stream.metaCertificate, MetaCertificateInfo(serverKey: serverKeys.publicKey, protocolVersion: 2))
    try assertExchange(a, b)
    XCTAssertEqual(tlsStats.handshakesTLS13, 2)
    XCTAssertEqual(relay.statsSnapshot().currentConnectionsByTransport[TransportMode.userspaceTLS.rawValue], 2)
  }

  func testDERPOverTLS12() throws {
    let a = try client(.tls12)
    let b = try client(.tls12)
    XCTAssertEqual((a.transport as? TLSTransport)?.stream.version, .tls12)
    try assertExchange(a, b)
    XCTAssertEqual(tlsStats.handshakesTLS12, 2)
  }

  func testMixedVersionsAndPacketsInFlight() throws {
    let a = try client(.tls13)
    let b = try client(.tls12)
    // Several packets queued before reading (fewer than the relay's per-peer
    // queue, which drops the oldest beyond that): batched frames encrypted together.
    let packets = (0..<16).map { pattern(1_400, seed: UInt8($0)) }
    for p in packets { try a.send(to: b.publicKey, packet: p) }
    var intact = 0
    for p in packets {
      let frame = try b.receive(until: { if case .recvPacket = $0 { return true } else { return false } }, timeoutSeconds: 10)
      if frame == .recvPacket(source: a.publicKey, packet: p) { intact += 1 }
    }
    XCTAssertEqual(intact, packets.count)
  }

  func testHTTPProbeOverTLSIsAnsweredAndClosed() throws {
    let stream = try TLSClientStream(fileDescriptor: try rawConnection(), options: TLSClientOptions(version: .tls13))
    try Array("GET /derp/probe HTTP/1.1\r\nHost: x\r\n\r\n".utf8).withUnsafeBytes { try stream.write($0) }
    var answer: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
      let n = try buffer.withUnsafeMutableBytes { try stream.read(into: $0) }
      if n == 0 { break }
      answer += buffer.prefix(n)
    }
    XCTAssertTrue(String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 200"), String(decoding: answer, as: UTF8.self))
  }

  // MARK: Mode and refusal

  func testStartupModeNamesUserspaceAndTheFix() {
    XCTAssertTrue(relayTLS.modeDescription.contains("userspace TLS"), relayTLS.modeDescription)
    XCTAssertTrue(relayTLS.modeDescription.contains("modprobe tls"), relayTLS.modeDescription)
    XCTAssertEqual(relayTLS.dataPath, .userspace)
  }

  func testKTLSRequiredRefusesWithoutKernelTLS() {
    XCTAssertThrowsError(
      try RelayTLS(
        certificatePath: TLSFixtures.certPath, keyPath: TLSFixtures.keyPath, ktls: .required,
        serverKey: serverKeys.publicKey,
        kernelProbe: { .failure(KernelTLSUnavailable(cause: .moduleAbsent, errnoCode: ENOENT, step: "setsockopt(TCP_ULP, \"tls\")")) })
    ) { error in
      let text = "\(error)"
      XCTAssertTrue(text.contains("ktls: required"), text)
      XCTAssertTrue(text.contains("modprobe tls"), text)
      XCTAssertTrue(text.contains("/etc/modules-load.d"), text)
    }
  }

  func testKTLSRequiredOnThisHostMatchesTheRealProbe() {
    let config = Config(tlsCert: TLSFixtures.certPath, tlsKey: TLSFixtures.keyPath, ktls: .required)
    let result = Result { try RelayTLS.make(config: config, serverKey: serverKeys.publicKey) }
    switch KernelTLS.probe() {
    case .success:
      XCTAssertNotNil(try? result.get(), "kernel TLS works here, so required must start")
    case .failure:
      XCTAssertThrowsError(try result.get()) { XCTAssertTrue("\($0)".contains("modprobe tls")) }
    }
  }

  func testKTLSOffAndNoCertificate() throws {
    let off = try RelayTLS(
      certificatePath: TLSFixtures.certPath, keyPath: TLSFixtures.keyPath, ktls: .off, serverKey: serverKeys.publicKey,
      kernelProbe: { XCTFail("ktls: off must not probe"); return .success(()) })
    XCTAssertEqual(off.dataPath, .userspace)
    XCTAssertTrue(off.modeDescription.contains("ktls: off"))
    XCTAssertNil(try RelayTLS.make(config: Config(), serverKey: serverKeys.publicKey))
  }

  // MARK: Bad input: that connection closes, others flow on

  private func withBystanders(_ body: () throws -> Void) throws {
    let a = try client(.tls13)
    let b = try client(.tls12)
    try body()
    try assertExchange(a, b, sizes: [0, 1_400, 65_536])
  }

  func testBytesThatAreNotAClientHello() throws {
    try withBystanders {
      let fd = try rawConnection()
      defer { close(fd) }
      sendAll(fd, Array("GET /derp HTTP/1.1\r\nHost: x\r\nUpgrade: DERP\r\n\r\n".utf8))
      XCTAssertTrue(closedByRelay(fd, seconds: 5))
    }
    XCTAssertEqual(tlsStats.handshakeFailures(.notTLS), 1)
  }

  func testTruncatedHandshake() throws {
    let hello = try capturedClientHello()
    try withBystanders {
      let fd = try rawConnection()
      defer { close(fd) }
      sendAll(fd, Array(hello.prefix(hello.count / 2)))
      _ = shutdown(fd, Int32(SHUT_WR))
      XCTAssertTrue(closedByRelay(fd, seconds: 5))
    }
    XCTAssertEqual(tlsStats.handshakeFailures(.peerClosed), 1)
  }

  func testHandshakeThatNeverCompletesHitsTheDeadline() throws {
    let hello = try capturedClientHello()
    try withBystanders {
      let fd = try rawConnection()
      defer { close(fd) }
      sendAll(fd, Array(hello.prefix(hello.count / 2)))
      let start = Date()
      XCTAssertTrue(closedByRelay(fd, seconds: 15))
      XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 8, "closed by the 10 s setup deadline, not earlier")
    }
    XCTAssertEqual(tlsStats.handshakeFailures(.timeout), 1)
  }

  func testOversizedRecordInTheHandshake() throws {
    try withBystanders {
      let fd = try rawConnection()
      defer { close(fd) }
      sendAll(fd, [22, 3, 1, 0x48, 0x01] + [UInt8](repeating: 1, count: 200))
      XCTAssertTrue(closedByRelay(fd, seconds: 5))
    }
    XCTAssertEqual(tlsStats.handshakeFailures(.recordOverflow), 1)
  }

  /// A TLS connection past the handshake that then sends `bytes` raw.
  private func afterHandshake(send bytes: @escaping (TLSClientStream) throws -> [UInt8]) throws {
    try withBystanders {
      let stream = try TLSClientStream(fileDescriptor: try rawConnection(), options: TLSClientOptions(version: .tls13))
      try Array("GET /derp HTTP/1.1\r\nHost: x\r\nUpgrade: DERP\r\nConnection: Upgrade\r\n\r\n".utf8)
        .withUnsafeBytes { try stream.write($0) }
      var buffer = [UInt8](repeating: 0, count: 4096)
      XCTAssertGreaterThan(try buffer.withUnsafeMutableBytes { try stream.read(into: $0) }, 0, "101 / ServerKey arrive")
      try stream.writeRaw(try bytes(stream))
      XCTAssertTrue(closedByRelay(stream.fileDescriptor, seconds: 5))
    }
    XCTAssertEqual(tlsStats.userspaceRecordErrors, 1)
  }

  func testRecordOver16KiBAfterTheHandshake() throws {
    try afterHandshake { _ in [23, 3, 3, 0x50, 0x00] + [UInt8](repeating: 7, count: 0x5000) }
  }

  func testGarbageAfterTheHandshake() throws {
    try afterHandshake { _ in Array("garbage that is not a TLS record".utf8) }
  }

  func testForgedRecordAfterTheHandshake() throws {
    try afterHandshake { _ in [23, 3, 3, 0, 64] + pattern(64) }
  }

  // MARK: Reload

  func testReloadValidatesFirstAndKeepsExistingConnections() throws {
    let a = try client(.tls13)
    let b = try client(.tls13)
    XCTAssertThrowsError(try relayTLS.reloadCertificates(certificatePath: "/nonexistent.pem", keyPath: TLSFixtures.keyPath)) {
      XCTAssertTrue("\($0)".contains("keeping the previous certificate"))
    }
    XCTAssertThrowsError(
      try relayTLS.reloadCertificates(certificatePath: TLSFixtures.certPath, keyPath: TLSFixtures.directory + "/other-key.pem"))
    XCTAssertNoThrow(try client(.tls13).close(), "old certificate still served")

    let second = try TLSFixtures.secondCertificate()
    try relayTLS.reloadCertificates(certificatePath: second.cert, keyPath: second.key)
    let fresh = try client(.tls13)
    XCTAssertEqual((fresh.transport as? TLSTransport)?.stream.peerCertificateCommonName, "reloaded")
    try assertExchange(a, b, sizes: [1_400])
    try assertExchange(a, fresh, sizes: [1_400])
  }
}
