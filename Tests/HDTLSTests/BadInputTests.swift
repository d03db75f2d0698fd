// Input a hostile or broken client can send: each must end that session with
// a classified reason (for the counters), never crash or hang the caller.
import Foundation
import XCTest

@testable import HDTLS

final class BadInputTests: XCTestCase {
  private func freshSession() throws -> TLSServerSession { try TLSServerSession(context: try TLSFixtures.context()) }

  private func feed(_ session: TLSServerSession, _ bytes: [UInt8]) {
    _ = bytes.withUnsafeBytes { session.feed($0) }
  }

  func testPlainHTTPIsNotTLS() throws {
    let session = try freshSession()
    defer { session.free() }
    feed(session, Array("GET /derp HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
    XCTAssertEqual(session.handshake(), .failed(.notTLS))
  }

  func testHandshakeRecordThatIsNotAClientHello() throws {
    let session = try freshSession()
    defer { session.free() }
    // A handshake record carrying a "ServerHello"-typed message of junk.
    feed(session, [22, 3, 1, 0, 8, 2, 0, 0, 4, 1, 2, 3, 4])
    XCTAssertEqual(session.handshake(), .failed(.protocolError))
  }

  func testTruncatedClientHelloWaitsThenFailsOnEOF() throws {
    let hello = try capturedClientHello()
    XCTAssertEqual(hello.first, 22)
    let (serverFD, clientFD) = makeSocketPair()
    setReceiveTimeout(serverFD, seconds: 10)
    defer { close(serverFD) }
    let half = hello.count / 2
    sendAll(clientFD, Array(hello.prefix(half)))
    close(clientFD)  // the peer gives up mid-handshake
    let driver = ServerDriver(fd: serverFD, session: try freshSession())
    XCTAssertEqual(driver.handshake(), .failed(.peerClosed))
    XCTAssertEqual(driver.session.bytesToRecordBoundary, hello.count - half, "waits for exactly the rest")
  }

  func testTruncatedClientHelloFollowedByOtherRecordFails() throws {
    let hello = try capturedClientHello()
    let session = try freshSession()
    defer { session.free() }
    // Shorten the record: the ClientHello message inside is cut off, then an
    // application-data record arrives where the rest of the handshake belongs.
    var cut = Array(hello.prefix(5 + 40))
    cut[3] = 0
    cut[4] = 40
    feed(session, cut)
    XCTAssertEqual(session.handshake(), .needMore)
    feed(session, [23, 3, 3, 0, 4, 1, 2, 3, 4])
    guard case .failed(let reason) = session.handshake() else { return XCTFail("must fail") }
    XCTAssertEqual(reason, .protocolError)
  }

  func testOversizedRecordDuringHandshake() throws {
    let session = try freshSession()
    defer { session.free() }
    feed(session, [22, 3, 1, 0x48, 0x01] + [UInt8](repeating: 1, count: 64))
    XCTAssertEqual(session.handshake(), .failed(.recordOverflow))
  }

  /// Connects a client, completes the handshake, then lets `misbehave` send
  /// something; returns how the server session's read ends.
  private func afterHandshake(
    version: TLSVersion, _ misbehave: @escaping @Sendable (TLSClientStream) throws -> Void
  ) throws -> TLSReadResult {
    let (serverFD, clientFD) = makeSocketPair()
    setReceiveTimeout(serverFD, seconds: 10)
    setReceiveTimeout(clientFD, seconds: 10)
    defer { close(serverFD) }
    let client = ClientThread<Bool> {
      let stream = try TLSClientStream(fileDescriptor: clientFD, options: TLSClientOptions(version: version))
      try pattern(1_000).withUnsafeBytes { try stream.write($0) }
      try misbehave(stream)
      return true
    }
    let server = ServerDriver(fd: serverFD, session: try freshSession())
    XCTAssertEqual(server.handshake(), .done)
    XCTAssertEqual(server.readPlaintext(1_000).bytes, pattern(1_000), "good data before the bad input still arrives")
    XCTAssertTrue(try client.wait())
    return server.readUntilEnd()
  }

  func testOversizedRecordAfterHandshake() throws {
    for version in TLSVersion.allCases {
      let end = try afterHandshake(version: version) { stream in
        try stream.writeRaw([23, 3, 3, 0x50, 0x00] + [UInt8](repeating: 7, count: 0x5000))
      }
      XCTAssertEqual(end, .failed(.recordOverflow), "\(version)")
    }
  }

  func testForgedRecordAfterHandshakeFailsAuthentication() throws {
    for version in TLSVersion.allCases {
      let end = try afterHandshake(version: version) { stream in
        try stream.writeRaw([23, 3, 3, 0, 100] + pattern(100, seed: 3))
      }
      XCTAssertEqual(end, .failed(.badRecordMAC), "\(version)")
    }
  }

  func testGarbageAfterHandshake() throws {
    let end = try afterHandshake(version: .tls13) { stream in
      try stream.writeRaw(Array("this is not a TLS record at all".utf8))
    }
    XCTAssertEqual(end, .failed(.protocolError))
  }

  func testCloseNotifyMidStream() throws {
    for version in TLSVersion.allCases {
      let end = try afterHandshake(version: version) { stream in stream.sendCloseNotify() }
      XCTAssertEqual(end, .closed, "\(version)")
    }
  }

  func testFatalAlertMidStream() throws {
    for version in TLSVersion.allCases {
      let end = try afterHandshake(version: version) { stream in
        try stream.sendAlert(level: 2, description: 40)  // handshake_failure
      }
      XCTAssertEqual(end, .failed(.peerAlert), "\(version)")
    }
  }
}
