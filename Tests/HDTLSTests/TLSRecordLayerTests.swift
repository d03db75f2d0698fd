// The worker's own record layer against OpenSSL on the other end: records
// OpenSSL sealed open in place, records we seal OpenSSL reads, for both TLS
// versions and both AES-GCM key sizes; then TLS 1.3 KeyUpdate both ways
// (OpenSSL asks, we follow and answer, OpenSSL reads what we send under our
// next key), tampering, alerts and post-handshake messages that are refused.
import Foundation
import XCTest

@testable import HDTLS

final class TLSRecordLayerTests: XCTestCase {
  /// A handshake, userspace traffic both ways through OpenSSL, then the switch.
  private func established(_ options: TLSClientOptions, client body: @escaping @Sendable (TLSClientStream) throws -> [UInt8])
    throws -> (server: ServerDriver, layer: UnsafeMutablePointer<TLSRecordLayer>, client: ClientThread<[UInt8]>)
  {
    let (serverFD, clientFD) = makeSocketPair()
    setReceiveTimeout(serverFD, seconds: 10)
    setReceiveTimeout(clientFD, seconds: 10)
    let client = ClientThread<[UInt8]> {
      let stream = try TLSClientStream(fileDescriptor: clientFD, options: options)
      defer { stream.close() }
      try pattern(20_000).withUnsafeBytes { try stream.write($0) }
      var buffer = [UInt8](repeating: 0, count: 10)
      _ = try buffer.withUnsafeMutableBytes { try stream.read(into: $0) }
      return try body(stream)
    }
    let server = ServerDriver(fd: serverFD, session: try TLSServerSession(context: try TLSFixtures.context()))
    XCTAssertEqual(server.handshake(), .done)
    XCTAssertEqual(server.readPlaintext(20_000).bytes, pattern(20_000))
    XCTAssertTrue(pattern(10).withUnsafeBytes { server.session.write($0) })
    server.flush()
    let layer = try TLSRecordLayer.make(from: server.session).get()
    // As the worker does: OpenSSL's buffers go; the layer needs none of them.
    XCTAssertTrue(server.session.releaseRecordBuffers())
    return (server, layer, client)
  }

  /// Opens the next record from the socket in place.
  private func openNext(_ fd: Int32, _ layer: UnsafeMutablePointer<TLSRecordLayer>) -> (TLSRecordContent, [UInt8]) {
    var record = receiveRecord(fd)
    let content = record.withUnsafeMutableBytes { layer.pointee.open($0.baseAddress!, length: $0.count) }
    if case .data(let offset, let count) = content { return (content, Array(record[offset..<offset + count])) }
    return (content, [])
  }

  /// Seals `plaintext` as records of up to 16 KiB and sends them.
  private func sealAndSend(_ fd: Int32, _ layer: UnsafeMutablePointer<TLSRecordLayer>, _ plaintext: [UInt8]) {
    var out = [UInt8](repeating: 0, count: plaintext.count + 64 * (plaintext.count / 16_384 + 1))
    var used = 0
    var sent = 0
    out.withUnsafeMutableBytes { buffer in
      plaintext.withUnsafeBytes { source in
        while sent < plaintext.count {
          let n = min(TLSRecordLayer.maxPlaintextBytes, plaintext.count - sent)
          let base = buffer.baseAddress!
          used += layer.pointee.beginRecord(at: base + used, plaintextBytes: n)
          // In two pieces, as frames from two blocks would be.
          let half = n / 2
          layer.pointee.seal(to: base + used, from: source.baseAddress! + sent, count: half)
          layer.pointee.seal(to: base + used + half, from: source.baseAddress! + sent + half, count: n - half)
          used += n
          used += layer.pointee.finishRecord(at: base + used)
          sent += n
        }
      }
    }
    sendAll(fd, Array(out.prefix(used)))
  }

  private func checkRoundTrip(_ options: TLSClientOptions) throws {
    let toServer = pattern(40_000, seed: 3)
    let toClient = pattern(33_000, seed: 5)
    let (server, layer, client) = try established(options) { stream in
      try toServer.withUnsafeBytes { try stream.write($0) }
      var got: [UInt8] = []
      var buffer = [UInt8](repeating: 0, count: 17_000)
      while got.count < toClient.count {
        let n = try buffer.withUnsafeMutableBytes { try stream.read(into: $0) }
        got += buffer.prefix(n)
      }
      return got
    }
    defer { TLSRecordLayer.free(layer) }
    var received: [UInt8] = []
    while received.count < toServer.count {
      let (content, bytes) = openNext(server.fd, layer)
      guard case .data = content else { return XCTFail("\(content)") }
      received += bytes
    }
    XCTAssertEqual(received, toServer, "records OpenSSL sealed opened in place")
    sealAndSend(server.fd, layer, toClient)
    XCTAssertEqual(try client.wait(), toClient, "OpenSSL read the records we sealed")
  }

  func testTLS13AES128() throws {
    try checkRoundTrip(TLSClientOptions(version: .tls13, tls13CipherSuites: "TLS_AES_128_GCM_SHA256"))
  }

  func testTLS13AES256() throws {
    try checkRoundTrip(TLSClientOptions(version: .tls13, tls13CipherSuites: "TLS_AES_256_GCM_SHA384"))
  }

  func testTLS12AES128() throws {
    try checkRoundTrip(TLSClientOptions(version: .tls12, tls12CipherList: "ECDHE-ECDSA-AES128-GCM-SHA256"))
  }

  func testTLS12AES256() throws {
    try checkRoundTrip(TLSClientOptions(version: .tls12, tls12CipherList: "ECDHE-ECDSA-AES256-GCM-SHA384"))
  }

  /// OpenSSL asks for a KeyUpdate: we follow its new key, answer with ours,
  /// and OpenSSL reads our data under our next key. Twice, so both
  /// directions' secrets are chained, not just derived once.
  func testKeyUpdateRequestedByThePeerIsFollowedAndAnswered() throws {
    for suite in ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"] {
      let (server, layer, client) = try established(TLSClientOptions(version: .tls13, tls13CipherSuites: suite)) { stream in
        var got: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 17_000)
        for round in 0..<2 {
          try stream.requestKeyUpdate(askPeer: true)
          try pattern(1_000, seed: UInt8(round)).withUnsafeBytes { try stream.write($0) }
          while got.count < 2_000 * (round + 1) {
            let n = try buffer.withUnsafeMutableBytes { try stream.read(into: $0) }
            got += buffer.prefix(n)
          }
        }
        return got
      }
      defer { TLSRecordLayer.free(layer) }
      var expected: [UInt8] = []
      for round in 0..<2 {
        XCTAssertEqual(openNext(server.fd, layer).0, .keyUpdate(requested: true), suite)
        let (content, bytes) = openNext(server.fd, layer)
        XCTAssertEqual(content, .data(offset: 5, count: 1_000), "data under the client's next key (\(suite))")
        XCTAssertEqual(bytes, pattern(1_000, seed: UInt8(round)))
        var record = [UInt8](repeating: 0, count: 64)
        let n = record.withUnsafeMutableBytes { layer.pointee.sealKeyUpdate(at: $0.baseAddress!) }
        XCTAssertGreaterThan(n, 0)
        sendAll(server.fd, Array(record.prefix(n)))
        let reply = pattern(2_000, seed: UInt8(10 + round))
        sealAndSend(server.fd, layer, reply)
        expected += reply
      }
      XCTAssertEqual(try client.wait(), expected, "OpenSSL followed our KeyUpdates (\(suite))")
    }
  }

  func testATamperedRecordFailsAuthentication() throws {
    let (server, layer, client) = try established(TLSClientOptions(version: .tls13)) { stream in
      try pattern(500).withUnsafeBytes { try stream.write($0) }
      return []
    }
    defer { TLSRecordLayer.free(layer) }
    var record = receiveRecord(server.fd)
    record[record.count / 2] ^= 0x01
    let content = record.withUnsafeMutableBytes { layer.pointee.open($0.baseAddress!, length: $0.count) }
    XCTAssertEqual(content, .failed(.badRecordMAC))
    _ = try client.wait()
  }

  func testAnAlertIsReportedWithItsDescription() throws {
    for version in TLSVersion.allCases {
      let (server, layer, client) = try established(TLSClientOptions(version: version)) { stream in
        try stream.sendAlert(level: 2, description: 40)  // handshake_failure, hand-made
        return []
      }
      defer { TLSRecordLayer.free(layer) }
      _ = try client.wait()
      XCTAssertEqual(openNext(server.fd, layer).0, .alert(40), "\(version)")
    }
  }

  func testCloseNotifyFromOpenSSLIsReported() throws {
    for version in TLSVersion.allCases {
      let (server, layer, client) = try established(TLSClientOptions(version: version)) { stream in
        stream.sendCloseNotify()
        return []
      }
      defer { TLSRecordLayer.free(layer) }
      _ = try client.wait()
      XCTAssertEqual(openNext(server.fd, layer).0, .closeNotify, "\(version)")
    }
  }

  /// A handshake record after the handshake that is not a lone KeyUpdate
  /// (TLS 1.2 renegotiation, a stray message) is a protocol error.
  func testHandshakeMessagesOtherThanKeyUpdateAreRefused() throws {
    for version in TLSVersion.allCases {
      let (server, layer, client) = try established(TLSClientOptions(version: version)) { stream in
        try stream.writeRaw(try stream.sealRecord(type: 22, plaintext: [1, 0, 0, 1, 0]))  // a ClientHello header
        return []
      }
      defer { TLSRecordLayer.free(layer) }
      _ = try client.wait()
      XCTAssertEqual(openNext(server.fd, layer).0, .failed(.protocolError), "\(version)")
    }
  }

  func testHeaderLengthsOverTheLimitAreRejected() {
    var header: [UInt8] = [23, 3, 3, 0x41, 0x01]  // 16,641 = 2^14 + 257
    XCTAssertNil(header.withUnsafeBytes { TLSRecordLayer.bodyLength(header: $0.baseAddress!) })
    header[3] = 0x41
    header[4] = 0x00
    XCTAssertEqual(header.withUnsafeBytes { TLSRecordLayer.bodyLength(header: $0.baseAddress!) }, 16_640)
    header[0] = 25
    XCTAssertNil(header.withUnsafeBytes { TLSRecordLayer.bodyLength(header: $0.baseAddress!) }, "not a record type")
  }

  /// The explicit-keys constructor (make(from:) goes through it) refuses
  /// secrets that do not fit the version instead of writing past its storage,
  /// and two layers keyed as the ends of one session talk, KeyUpdates included.
  func testExplicitKeysPairUpAndBadSecretsAreRefused() throws {
    let aToB = TrafficKey(key: Array(repeating: 1, count: 16), fixedIV: Array(repeating: 2, count: 12), nextSequence: 0)
    let bToA = TrafficKey(key: Array(repeating: 3, count: 16), fixedIV: Array(repeating: 4, count: 12), nextSequence: 0)
    let keys = SessionTrafficKeys(version: .tls13, cipher: .aes128GCM, transmit: aToB, receive: bToA)
    let secret = [UInt8](repeating: 5, count: 32)
    XCTAssertNil(TLSRecordLayer.make(keys: keys, transmitSecret: [UInt8](repeating: 5, count: 64), receiveSecret: secret))
    XCTAssertNil(TLSRecordLayer.make(keys: keys, transmitSecret: secret, receiveSecret: []))
    var tls12 = keys
    tls12.version = .tls12
    XCTAssertNil(TLSRecordLayer.make(keys: tls12, transmitSecret: secret, receiveSecret: secret), "TLS 1.2 takes no secrets")

    let a = try XCTUnwrap(TLSRecordLayer.make(keys: keys, transmitSecret: secret, receiveSecret: secret.map { $0 ^ 1 }))
    let b = try XCTUnwrap(TLSRecordLayer.make(keys: SessionTrafficKeys(version: .tls13, cipher: .aes128GCM, transmit: bToA, receive: aToB),
                                              transmitSecret: secret.map { $0 ^ 1 }, receiveSecret: secret))
    defer {
      TLSRecordLayer.free(a)
      TLSRecordLayer.free(b)
    }
    var record = [UInt8](repeating: 0, count: 64)
    let n = record.withUnsafeMutableBytes { a.pointee.sealKeyUpdate(at: $0.baseAddress!, requestingPeerUpdate: true) }
    XCTAssertEqual(record.withUnsafeMutableBytes { b.pointee.open($0.baseAddress!, length: n) }, .keyUpdate(requested: true))
    let m = record.withUnsafeMutableBytes { b.pointee.sealKeyUpdate(at: $0.baseAddress!) }
    XCTAssertEqual(record.withUnsafeMutableBytes { a.pointee.open($0.baseAddress!, length: m) }, .keyUpdate(requested: false))
    let hello: [UInt8] = Array("after both updates".utf8)
    let length = record.withUnsafeMutableBytes { out in
      hello.withUnsafeBytes { source in
        var used = a.pointee.beginRecord(at: out.baseAddress!, plaintextBytes: hello.count)
        a.pointee.seal(to: out.baseAddress! + used, from: source.baseAddress!, count: hello.count)
        used += hello.count
        return used + a.pointee.finishRecord(at: out.baseAddress! + used)
      }
    }
    let content = record.withUnsafeMutableBytes { b.pointee.open($0.baseAddress!, length: length) }
    XCTAssertEqual(content, .data(offset: 5, count: hello.count))
    XCTAssertEqual(Array(record[5..<5 + hello.count]), hello)
  }

  /// bodyLength admits 2^14 + 256 bytes of ciphertext; the plaintext in it
  /// must still fit 2^14 (TLS 1.3: 2^14 + 1 with the type byte and padding),
  /// or the record is a record_overflow, as OpenSSL has it.
  func testPlaintextOverTheLimitIsARecordOverflow() throws {
    for version in TLSVersion.allCases {
      let ivBytes = version == .tls13 ? 12 : 4
      let key = TrafficKey(key: Array(repeating: 7, count: 16), fixedIV: Array(repeating: 8, count: ivBytes), nextSequence: 0)
      let keys = SessionTrafficKeys(version: version, cipher: .aes128GCM, transmit: key, receive: key)
      let secret = [UInt8](repeating: 9, count: version == .tls13 ? 32 : 0)
      // One layer whose transmit is its own receive: it opens what it seals.
      let layer = try XCTUnwrap(TLSRecordLayer.make(keys: keys, transmitSecret: secret, receiveSecret: secret))
      defer { TLSRecordLayer.free(layer) }
      for (plaintextBytes, expected) in [(16_384, TLSRecordContent.data(offset: version == .tls13 ? 5 : 13, count: 16_384)),
                                         (16_385, .failed(.recordOverflow))] {
        let plaintext = pattern(plaintextBytes)
        var record = [UInt8](repeating: 0, count: plaintextBytes + 64)
        let length = record.withUnsafeMutableBytes { out in
          plaintext.withUnsafeBytes { source in
            var used = layer.pointee.beginRecord(at: out.baseAddress!, plaintextBytes: plaintextBytes)
            layer.pointee.seal(to: out.baseAddress! + used, from: source.baseAddress!, count: plaintextBytes)
            used += plaintextBytes
            return used + layer.pointee.finishRecord(at: out.baseAddress! + used)
          }
        }
        XCTAssertNotNil(record.withUnsafeBytes { TLSRecordLayer.bodyLength(header: $0.baseAddress!) }, "within the ciphertext limit")
        XCTAssertEqual(record.withUnsafeMutableBytes { layer.pointee.open($0.baseAddress!, length: length) }, expected,
                       "\(version), \(plaintextBytes) bytes")
      }
    }
  }
}
