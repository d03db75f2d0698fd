// Derived record keys and sequence numbers checked against OpenSSL itself:
// records OpenSSL sealed open with our keys, and records we seal with them
// OpenSSL accepts. This is what kernel TLS will do with the same numbers.
import Foundation
import XCTest

@testable import HDTLS

final class TrafficKeyTests: XCTestCase {
  private func checkAgainstOpenSSL(_ options: TLSClientOptions, cipher: TLSRecordCipher) throws {
    let (serverFD, clientFD) = makeSocketPair()
    setReceiveTimeout(serverFD, seconds: 10)
    setReceiveTimeout(clientFD, seconds: 10)
    defer { close(serverFD) }
    let toServer: [UInt8] = Array("sealed by OpenSSL after two userspace records".utf8)
    let toClient: [UInt8] = Array("sealed by HDTLS with the derived server key".utf8)
    let client = ClientThread<[UInt8]> {
      let stream = try TLSClientStream(fileDescriptor: clientFD, options: options)
      // Userspace traffic first, so the sequence numbers are not the initial ones.
      for message in [pattern(100), pattern(20_000)] { try message.withUnsafeBytes { try stream.write($0) } }
      var buffer = [UInt8](repeating: 0, count: 100)
      _ = try buffer.withUnsafeMutableBytes { try stream.read(into: $0) }
      try toServer.withUnsafeBytes { try stream.write($0) }
      let n = try buffer.withUnsafeMutableBytes { try stream.read(into: $0) }
      return Array(buffer.prefix(n))
    }
    let server = ServerDriver(fd: serverFD, session: try TLSServerSession(context: try TLSFixtures.context()))
    XCTAssertEqual(server.handshake(), .done)
    XCTAssertEqual(server.readPlaintext(20_100).bytes, pattern(100) + pattern(20_000))
    XCTAssertTrue(pattern(10).withUnsafeBytes { server.session.write($0) })
    server.flush()

    let keys = try server.session.kernelKeys().get()
    XCTAssertEqual(keys.version, options.version)
    XCTAssertEqual(keys.cipher, cipher)
    XCTAssertEqual(keys.transmit.key.count, cipher.keyBytes)
    // 1 userspace record out; in: 100 B + 20000 B = 3 records (16 KiB split).
    let base: UInt64 = options.version == .tls12 ? 1 : 0
    XCTAssertEqual(keys.transmit.nextSequence, base + 1)
    XCTAssertEqual(keys.receive.nextSequence, base + 3)

    var receive = RecordProtection(version: keys.version, cipher: keys.cipher, key: keys.receive)
    let opened = receive.open(record: receiveRecord(serverFD))
    XCTAssertEqual(opened?.type, KernelTLS.recordTypeApplicationData)
    XCTAssertEqual(opened?.plaintext, toServer)

    var transmit = RecordProtection(version: keys.version, cipher: keys.cipher, key: keys.transmit)
    sendAll(serverFD, try XCTUnwrap(transmit.seal(type: KernelTLS.recordTypeApplicationData, plaintext: toClient)))
    XCTAssertEqual(try client.wait(), toClient, "OpenSSL accepted our record at our sequence number")
  }

  func testTLS13AES128() throws {
    try checkAgainstOpenSSL(TLSClientOptions(version: .tls13, tls13CipherSuites: "TLS_AES_128_GCM_SHA256"), cipher: .aes128GCM)
  }

  func testTLS13AES256() throws {
    try checkAgainstOpenSSL(TLSClientOptions(version: .tls13, tls13CipherSuites: "TLS_AES_256_GCM_SHA384"), cipher: .aes256GCM)
  }

  func testTLS12AES128() throws {
    try checkAgainstOpenSSL(TLSClientOptions(version: .tls12, tls12CipherList: "ECDHE-ECDSA-AES128-GCM-SHA256"), cipher: .aes128GCM)
  }

  func testTLS12AES256() throws {
    try checkAgainstOpenSSL(TLSClientOptions(version: .tls12, tls12CipherList: "ECDHE-ECDSA-AES256-GCM-SHA384"), cipher: .aes256GCM)
  }

  /// The client side's derivation (used for hand-made alerts) mirrors the server's.
  func testClientSealedRecordIsReadByServerSession() throws {
    for version in TLSVersion.allCases {
      let (serverFD, clientFD) = makeSocketPair()
      setReceiveTimeout(serverFD, seconds: 10)
      setReceiveTimeout(clientFD, seconds: 10)
      let client = ClientThread<Bool> {
        let stream = try TLSClientStream(fileDescriptor: clientFD, options: TLSClientOptions(version: version))
        try pattern(3_000).withUnsafeBytes { try stream.write($0) }
        try stream.writeRaw(try stream.sealRecord(type: KernelTLS.recordTypeApplicationData, plaintext: pattern(50, seed: 9)))
        return true
      }
      let server = ServerDriver(fd: serverFD, session: try TLSServerSession(context: try TLSFixtures.context()))
      XCTAssertEqual(server.handshake(), .done)
      XCTAssertTrue(try client.wait())
      XCTAssertEqual(server.readPlaintext(3_050).bytes, pattern(3_000) + pattern(50, seed: 9), "\(version)")
      close(serverFD)
    }
  }
}
