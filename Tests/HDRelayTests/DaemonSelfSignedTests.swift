// The self-signed IP recipe end to end with the built binaries: `hdctl cert
// self-signed` writes the pair and prints the pin, the daemon serves it and
// logs the same pin, a client pinning it exchanges packets; a new pair
// written over the same files (--force) and a SIGHUP put the new pin in
// service: the old pin is refused, the new one accepted, and the expiry
// gauge on /metrics moves to the new certificate.
import Foundation
import HDClient
import HDProtocol
import HDTLS
import XCTest

final class DaemonSelfSignedTests: XCTestCase {
  private func hdctl(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let binary = (DaemonProcess.binaryPath as NSString).deletingLastPathComponent + "/hdctl"
    guard FileManager.default.isExecutableFile(atPath: binary) else {
      throw DaemonProcessError("hdctl binary not found at \(binary): run `swift build` before `swift test`")
    }
    let process = Process()
    let out = Pipe()
    let err = Pipe()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = arguments
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, stdout, stderr)
  }

  /// Runs `hdctl cert self-signed` into `directory` and returns the printed pin.
  private func makePair(_ directory: String, force: Bool) throws -> CertificatePin {
    let result = try hdctl(
      ["cert", "self-signed", "--ip", "127.0.0.1", "--out", directory, "--days", "30"] + (force ? ["--force"] : []))
    XCTAssertEqual(result.status, 0, result.stderr)
    let firstLine = String(result.stdout.prefix { $0 != "\n" })
    return try XCTUnwrap(CertificatePin(certName: firstLine), result.stdout)
  }

  func testSelfSignedPairIsServedPinnedAndRotatedOnSIGHUP() throws {
    _ = signal(SIGPIPE, SIG_IGN)
    let tree = TestFixtureTree()
    let directory = tree.path("tls")
    let firstPin = try makePair(directory, force: false)
    let port = freeLoopbackPort()
    var metricsPort = freeLoopbackPort()
    while metricsPort == port { metricsPort = freeLoopbackPort() }
    let config = tree.write(
      "hd.yaml",
      "port: \(port)\nbind: [\"127.0.0.1\"]\nworkers: 1\ntls_cert: \"\(directory)/cert.pem\"\n"
        + "tls_key: \"\(directory)/key.pem\"\nktls: off\nmetrics:\n  port: \(metricsPort)\n  bind: [\"127.0.0.1\"]\n")
    let daemon = try DaemonProcess(arguments: ["--config", config])
    XCTAssertTrue(daemon.waitForLog(firstPin.certName), "the start log names the pin:\n\(daemon.stderr)")

    func exchange(pin: CertificatePin) throws {
      let options = TLSClientOptions(pinnedCertificate: pin, verifyPeerName: "127.0.0.1")
      let a = try DERPClient.connectTLS(host: "127.0.0.1", port: port, tls: options)
      let b = try DERPClient.connectTLS(host: "127.0.0.1", port: port, tls: options)
      try a.send(to: b.publicKey, packet: [4, 5, 6])
      XCTAssertEqual(try b.receivePacket().packet, [4, 5, 6])
      a.close()
      b.close()
    }
    try exchange(pin: firstPin)
    let firstExpiry = try XCTUnwrap(expiryGauge(metricsPort), "no expiry gauge:\n\(daemon.stderr)")

    let secondPin = try makePair(directory, force: true)
    XCTAssertNotEqual(secondPin, firstPin)
    daemon.signal(SIGHUP)
    XCTAssertTrue(daemon.waitForLog("reload: TLS certificate"), daemon.stderr)
    XCTAssertTrue(daemon.waitForLog(secondPin.certName), daemon.stderr)
    try exchange(pin: secondPin)
    let secondExpiry = try XCTUnwrap(expiryGauge(metricsPort))
    // hdctl ran later for the second pair, with the same --days.
    XCTAssertGreaterThanOrEqual(secondExpiry, firstExpiry)
    let served = try CertificateFileReport.read(certificatePath: directory + "/cert.pem", keyPath: nil)
    XCTAssertEqual(secondExpiry, served.leaf.notAfter, "the gauge names the certificate now in service")
    XCTAssertEqual(served.leaf.pin, secondPin)
    XCTAssertThrowsError(
      try DERPClient.connectTLS(host: "127.0.0.1", port: port, tls: TLSClientOptions(pinnedCertificate: firstPin))
    ) { error in
      guard case DERPClientError.certificateRejected = error else { return XCTFail("\(error)") }
    }

    daemon.signal(SIGTERM)
    XCTAssertEqual(daemon.waitForExit(timeoutSeconds: 10), 0, daemon.stderr)
  }

  /// hyper_derp_tls_cert_expiry_timestamp_seconds{listener="derp"} from the daemon's /metrics.
  private func expiryGauge(_ port: UInt16) -> Int64? {
    guard let connection = try? RawConnection(port: port) else { return nil }
    connection.send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    let body = HTTPReply(connection.readToEnd(timeoutSeconds: 3))?.body ?? ""
    let prefix = "hyper_derp_tls_cert_expiry_timestamp_seconds{listener=\"derp\"} "
    guard let line = body.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return nil }
    return Int64(line.dropFirst(prefix.count))
  }
}
