// The self-signed IP recipe end to end with the built binaries: `hdctl cert
// self-signed` writes the pair and prints the pin, the daemon serves it and
// logs the same pin, a client pinning it exchanges packets; a new pair
// written over the same files (--force) and a SIGHUP put the new pin in
// service: the old pin is refused, the new one accepted.
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
    let config = tree.write(
      "hd.yaml",
      "port: \(port)\nbind: [\"127.0.0.1\"]\nworkers: 1\ntls_cert: \"\(directory)/cert.pem\"\n"
        + "tls_key: \"\(directory)/key.pem\"\nktls: off\n")
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

    let secondPin = try makePair(directory, force: true)
    XCTAssertNotEqual(secondPin, firstPin)
    daemon.signal(SIGHUP)
    XCTAssertTrue(daemon.waitForLog("reload: TLS certificate"), daemon.stderr)
    XCTAssertTrue(daemon.waitForLog(secondPin.certName), daemon.stderr)
    try exchange(pin: secondPin)
    XCTAssertThrowsError(
      try DERPClient.connectTLS(host: "127.0.0.1", port: port, tls: TLSClientOptions(pinnedCertificate: firstPin))
    ) { error in
      guard case DERPClientError.certificateRejected = error else { return XCTFail("\(error)") }
    }

    daemon.signal(SIGTERM)
    XCTAssertEqual(daemon.waitForExit(timeoutSeconds: 10), 0, daemon.stderr)
  }
}
