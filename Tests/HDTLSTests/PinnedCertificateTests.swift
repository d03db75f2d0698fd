// A relay reached by IP with a self-signed certificate, trusted the way
// Tailscale's client trusts a DERP node with `CertName: "sha256-raw:…"`: the
// pin replaces CA verification. Real relay on 127.0.0.1, real OpenSSL on both
// sides; certificates made by SelfSignedCertificate (what `hdctl cert
// self-signed` writes).
import Foundation
import HDClient
import HDConfig
import HDProtocol
import XCTest

@testable import HDRelay
@testable import HDTLS

final class PinnedCertificateTests: XCTestCase {
  private var relay: Relay?
  private var directory = ""

  override func tearDown() {
    relay?.stop(graceSeconds: 0)
    relay = nil
    if !directory.isEmpty { try? FileManager.default.removeItem(atPath: directory) }
  }

  /// Starts a relay on 127.0.0.1 serving `certificate`; returns its port.
  private func startRelay(serving certificate: SelfSignedCertificate) throws -> UInt16 {
    _ = TLSFixtures.ignoreSIGPIPE
    directory = NSTemporaryDirectory() + "hd-pin-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let certPath = directory + "/cert.pem"
    let keyPath = directory + "/key.pem"
    try Data(certificate.certificatePEM).write(to: URL(fileURLWithPath: certPath))
    try Data(certificate.privateKeyPEM).write(to: URL(fileURLWithPath: keyPath))
    let keys = DERPKeyPair.generate()
    let config = Config(port: 0, bind: ["127.0.0.1"], tlsCert: certPath, tlsKey: keyPath, ktls: .off)
    let tls = try RelayTLS(
      certificatePath: certPath, keyPath: keyPath, ktls: .off, serverKey: keys.publicKey,
      kernelProbe: { .failure(KernelTLSUnavailable(cause: .moduleAbsent, errnoCode: ENOENT, step: "test")) })
    let started = try Relay(options: RelayOptions(config: config, serverKeyPair: keys, workerCount: 1, tls: tls))
    try started.start()
    relay = started
    return UInt16(started.boundPorts[0])
  }

  private func connect(_ port: UInt16, _ tls: TLSClientOptions) throws -> DERPClient {
    try DERPClient.connectTLS(host: "127.0.0.1", port: port, tls: tls)
  }

  private func assertRejected(_ port: UInt16, _ tls: TLSClientOptions, because expected: String,
                              file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try connect(port, tls), file: file, line: line) { error in
      guard case DERPClientError.certificateRejected(let why) = error else {
        return XCTFail("expected a rejected certificate, got \(error)", file: file, line: line)
      }
      XCTAssertTrue(why.contains(expected), why, file: file, line: line)
    }
  }

  func testPinnedSelfSignedIPCertificateCarriesDERP() throws {
    let certificate = try SelfSignedCertificate.make(ipAddresses: ["127.0.0.1"], notAfterOffsetSeconds: 86_400)
    let port = try startRelay(serving: certificate)
    // As the DERP map gives it: the CertName text.
    let options = try TLSClientOptions.forDERPNode(
      certName: certificate.pin.certName, trust: .openSSLDefaults, dialledHost: "127.0.0.1"
    ).get()
    let a = try connect(port, options)
    var checkingAddress = options
    checkingAddress.verifyPeerName = "127.0.0.1"
    let b = try connect(port, checkingAddress)
    XCTAssertEqual((a.transport as? TLSTransport)?.stream.peerCertificatePin, certificate.pin)
    for (from, to) in [(a, b), (b, a)] {
      let packet = pattern(1_400, seed: 3)
      try from.send(to: to.publicKey, packet: packet)
      let frame = try to.receive(until: { if case .recvPacket = $0 { return true } else { return false } }, timeoutSeconds: 10)
      XCTAssertEqual(frame, .recvPacket(source: from.publicKey, packet: packet))
    }
  }

  func testWrongPinIsRefusedDuringTheHandshake() throws {
    let certificate = try SelfSignedCertificate.make(ipAddresses: ["127.0.0.1"], notAfterOffsetSeconds: 86_400)
    let other = try SelfSignedCertificate.make(ipAddresses: ["127.0.0.1"], notAfterOffsetSeconds: 86_400)
    let port = try startRelay(serving: certificate)
    assertRejected(port, TLSClientOptions(pinnedCertificate: other.pin), because: "does not match the pin")
    XCTAssertEqual(relay?.statsSnapshot().tls.handshakesTLS13, 0, "the handshake must not complete")
  }

  func testCAVerificationRefusesTheSelfSignedCertificate() throws {
    let certificate = try SelfSignedCertificate.make(ipAddresses: ["127.0.0.1"], notAfterOffsetSeconds: 86_400)
    let port = try startRelay(serving: certificate)
    // Trusting some other certificate, as a client without the pin would.
    assertRejected(port, TLSClientOptions(trustedCertificatesFile: TLSFixtures.certPath), because: "self-signed")
  }

  func testPinnedCertificateMustCoverTheCheckedAddress() throws {
    let certificate = try SelfSignedCertificate.make(ipAddresses: ["127.0.0.1"], notAfterOffsetSeconds: 86_400)
    let port = try startRelay(serving: certificate)
    assertRejected(
      port, TLSClientOptions(pinnedCertificate: certificate.pin, verifyPeerName: "127.0.0.2"), because: "not valid for 127.0.0.2")
  }

  func testExpiredPinnedCertificateIsRefused() throws {
    let expired = try SelfSignedCertificate.make(
      ipAddresses: ["127.0.0.1"], notBeforeOffsetSeconds: -10 * 86_400, notAfterOffsetSeconds: -86_400)
    let port = try startRelay(serving: expired)
    assertRejected(port, TLSClientOptions(pinnedCertificate: expired.pin), because: "expired")
  }

  func testPinAndTrustFileTogetherAreASetupError() throws {
    let certificate = try SelfSignedCertificate.make(ipAddresses: ["127.0.0.1"], notAfterOffsetSeconds: 86_400)
    let port = try startRelay(serving: certificate)
    XCTAssertThrowsError(
      try connect(port, TLSClientOptions(trustedCertificatesFile: TLSFixtures.certPath, pinnedCertificate: certificate.pin))
    ) { error in XCTAssertTrue("\(error)".contains("not both"), "\(error)") }
  }

  func testDERPNodeCertNameSyntax() {
    let good = "sha256-raw:" + String(repeating: "0a", count: 32)
    XCTAssertEqual(CertificatePin(certName: good)?.certName, good)
    XCTAssertNil(CertificatePin(certName: "sha256-raw:" + String(repeating: "0A", count: 32)), "Tailscale compares lowercase text")
    XCTAssertNil(CertificatePin(certName: "sha256-raw:abc"))
    XCTAssertThrowsError(
      try TLSClientOptions.forDERPNode(certName: "sha256-raw:xyz", trust: .openSSLDefaults, dialledHost: "h").get()
    ) { XCTAssertTrue("\($0)".contains("64 lowercase hex"), "\($0)") }
    let named = try? TLSClientOptions.forDERPNode(
      certName: "derp.example.com", trust: .bundle(path: "/ca", setting: "test"), dialledHost: "10.0.0.1").get()
    XCTAssertEqual(named?.verifyPeerName, "derp.example.com")
    XCTAssertEqual(named?.trustedCertificatesFile, "/ca")
    XCTAssertNil(named?.pinnedCertificate)
    let plain = try? TLSClientOptions.forDERPNode(certName: "", trust: .openSSLDefaults, dialledHost: "10.0.0.1").get()
    XCTAssertEqual(plain?.verifyPeerName, "10.0.0.1")
    XCTAssertEqual(plain?.trustsOpenSSLDefaultPaths, true)
  }

  func testPinIsTheSHA256OfTheDERCertificate() throws {
    // Independent check with the openssl tool: sha256 over `openssl x509 -outform DER`.
    let certificate = try SelfSignedCertificate.make(ipAddresses: ["192.0.2.7", "2001:db8::7"], hostNames: ["relay.test"],
                                                     notAfterOffsetSeconds: 3 * 86_400)
    let input = Pipe()
    let output = Pipe()
    let der = Process()
    der.executableURL = URL(fileURLWithPath: "/bin/sh")
    der.arguments = ["-c", "openssl x509 -outform DER | openssl dgst -sha256 -r"]
    der.standardInput = input
    der.standardOutput = output
    try der.run()
    input.fileHandleForWriting.write(Data(certificate.certificatePEM))
    try input.fileHandleForWriting.close()
    let digest = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    der.waitUntilExit()
    XCTAssertEqual(certificate.pin.certName, "sha256-raw:" + String(digest.prefix(64)))
    XCTAssertEqual(certificate.notAfter - certificate.notBefore, 3 * 86_400 + 3_600)
  }
}
