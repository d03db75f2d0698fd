// Loading and validating certificate/key pairs (startup and SIGHUP reload).
import Foundation
import XCTest

@testable import HDTLS

final class TLSServerContextTests: XCTestCase {
  func testMissingCertificateNamesThePath() {
    XCTAssertThrowsError(
      try TLSServerContext(certificatePath: "/nonexistent/cert.pem", keyPath: TLSFixtures.keyPath, serverKey: TLSFixtures.serverKey)
    ) { error in
      let error = error as! TLSContextError
      XCTAssertEqual(error.kind, .certificateUnreadable)
      XCTAssertTrue(error.detail.contains("/nonexistent/cert.pem"), error.detail)
    }
  }

  func testKeyThatDoesNotMatch() {
    XCTAssertThrowsError(
      try TLSServerContext(
        certificatePath: TLSFixtures.certPath, keyPath: TLSFixtures.directory + "/other-key.pem",
        serverKey: TLSFixtures.serverKey)
    ) { error in
      XCTAssertEqual((error as! TLSContextError).kind, .keyDoesNotMatchCertificate)
    }
  }

  func testGarbageCertificateFile() throws {
    let path = TLSFixtures.directory + "/garbage.pem"
    try Data("not a certificate\n".utf8).write(to: URL(fileURLWithPath: path))
    XCTAssertThrowsError(
      try TLSServerContext(certificatePath: path, keyPath: TLSFixtures.keyPath, serverKey: TLSFixtures.serverKey)
    ) { error in
      XCTAssertEqual((error as! TLSContextError).kind, .certificateUnreadable)
    }
  }

  /// A reload replaces the context; sessions made from the old one keep working.
  func testSessionOutlivesItsContext() throws {
    let (serverFD, clientFD) = makeSocketPair()
    setReceiveTimeout(serverFD, seconds: 10)
    setReceiveTimeout(clientFD, seconds: 10)
    defer { close(serverFD) }
    var context: TLSServerContext? = try TLSFixtures.context()
    let session = try TLSServerSession(context: context!)
    context = nil  // the old context is dropped, as after a reload
    XCTAssertNil(context)
    let client = ClientThread<Int> {
      let stream = try TLSClientStream(fileDescriptor: clientFD)
      try pattern(500).withUnsafeBytes { try stream.write($0) }
      return stream.peerCertificateCount
    }
    let server = ServerDriver(fd: serverFD, session: session)
    XCTAssertEqual(server.handshake(), .done)
    XCTAssertEqual(server.readPlaintext(500).bytes, pattern(500))
    XCTAssertEqual(try client.wait(), 2)
  }
}
