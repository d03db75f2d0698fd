// Handshakes and data through memory-BIO server sessions against a real
// OpenSSL client, TLS 1.3 and 1.2, payloads 0…65536 bytes both directions.
import Foundation
import HDProtocol
import XCTest

@testable import HDTLS

final class TLSSessionTests: XCTestCase {
  static let sizes = [0, 1, 5, 1_400, 16_383, 16_384, 16_385, 40_000, 65_536]

  struct ClientReport: Sendable {
    var version: TLSVersion?
    var cipher: String
    var meta: MetaCertificateInfo?
    var certificates: Int
    var echoesIntact: Bool
  }

  /// Client: for each size sends a 4-byte length + payload, expects the echo.
  private func runEcho(options: TLSClientOptions, lendInput: Bool = false) throws -> ClientReport {
    let (serverFD, clientFD) = makeSocketPair()
    setReceiveTimeout(serverFD, seconds: 10)
    setReceiveTimeout(clientFD, seconds: 10)
    defer { close(serverFD) }
    let client = ClientThread<ClientReport> {
      let stream = try TLSClientStream(fileDescriptor: clientFD, options: options)
      var intact = true
      for size in Self.sizes {
        let payload = pattern(size, seed: UInt8(size & 0xff))
        let message = withUnsafeBytes(of: UInt32(size).bigEndian) { Array($0) } + payload
        try message.withUnsafeBytes { try stream.write($0) }
        var echo: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 20_000)
        while echo.count < size {
          let n = try buffer.withUnsafeMutableBytes { try stream.read(into: $0) }
          if n == 0 { break }
          echo += buffer.prefix(n)
        }
        intact = intact && echo == payload
      }
      stream.sendCloseNotify()
      return ClientReport(
        version: stream.version, cipher: stream.cipherName, meta: stream.metaCertificate,
        certificates: stream.peerCertificateCount, echoesIntact: intact)
    }
    let server = ServerDriver(fd: serverFD, session: try TLSServerSession(context: try TLSFixtures.context()))
    server.lendInput = lendInput
    XCTAssertEqual(server.handshake(), .done)
    XCTAssertEqual(server.session.version, options.version ?? .tls13)
    for size in Self.sizes {
      let header = server.readPlaintext(4)
      XCTAssertNil(header.end)
      let length = header.bytes.reduce(0) { $0 << 8 | Int($1) }
      XCTAssertEqual(length, size)
      let body = server.readPlaintext(length)
      XCTAssertNil(body.end)
      XCTAssertEqual(body.bytes, pattern(size, seed: UInt8(size & 0xff)))
      XCTAssertTrue(body.bytes.withUnsafeBytes { server.session.write($0) })
      server.flush()
    }
    XCTAssertEqual(server.readUntilEnd(), .closed, "client's close_notify")
    return try client.wait()
  }

  func testTLS13EchoesEverySizeAndPresentsMetaCertificate() throws {
    let report = try runEcho(options: TLSClientOptions(version: .tls13))
    XCTAssertEqual(report.version, .tls13)
    XCTAssertEqual(report.cipher, "TLS_AES_128_GCM_SHA256", "AES-GCM first so the kernel can take it")
    XCTAssertTrue(report.echoesIntact)
    XCTAssertEqual(report.certificates, 2, "leaf + meta certificate")
    XCTAssertEqual(report.meta, MetaCertificateInfo(serverKey: TLSFixtures.serverKey, protocolVersion: 2))
  }

  /// Received ciphertext lent instead of copied (the relay's receive path):
  /// records split across receives, loans partly read when a message is
  /// complete and taken back before the next receive, every echo intact.
  func testTLS13EchoesEverySizeWithLentInput() throws {
    let report = try runEcho(options: TLSClientOptions(version: .tls13), lendInput: true)
    XCTAssertTrue(report.echoesIntact)
    XCTAssertEqual(report.version, .tls13)
  }

  func testTLS12EchoesEverySizeWithLentInput() throws {
    let report = try runEcho(options: TLSClientOptions(version: .tls12), lendInput: true)
    XCTAssertTrue(report.echoesIntact)
  }

  func testTLS12EchoesEverySize() throws {
    let report = try runEcho(options: TLSClientOptions(version: .tls12))
    XCTAssertEqual(report.version, .tls12)
    XCTAssertEqual(report.cipher, "ECDHE-ECDSA-AES128-GCM-SHA256")
    XCTAssertTrue(report.echoesIntact)
    XCTAssertEqual(report.meta?.serverKey, TLSFixtures.serverKey)
  }

  func testChaChaOnlyClientIsServedButNotOffloadable() throws {
    let (serverFD, clientFD) = makeSocketPair()
    setReceiveTimeout(serverFD, seconds: 10)
    setReceiveTimeout(clientFD, seconds: 10)
    defer { close(serverFD) }
    let client = ClientThread<String> {
      let stream = try TLSClientStream(
        fileDescriptor: clientFD,
        options: TLSClientOptions(version: .tls13, tls13CipherSuites: "TLS_CHACHA20_POLY1305_SHA256"))
      try ([1, 2, 3] as [UInt8]).withUnsafeBytes { try stream.write($0) }
      return stream.cipherName
    }
    let server = ServerDriver(fd: serverFD, session: try TLSServerSession(context: try TLSFixtures.context()))
    XCTAssertEqual(server.handshake(), .done)
    XCTAssertEqual(try client.wait(), "TLS_CHACHA20_POLY1305_SHA256")
    guard case .failure(.cipherNotOffloadable) = server.session.kernelKeys() else {
      return XCTFail("ChaCha20 must stay in userspace")
    }
    XCTAssertEqual(server.readPlaintext(3).bytes, [1, 2, 3])
  }
}
