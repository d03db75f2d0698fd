// The daemon with TLS on the DERP port: DERP over TLS end to end, certificate
// reload on SIGHUP (bad files keep the old certificate), and `ktls: required`
// refusing to start where the kernel has no TLS.
import Foundation
import HDClient
import HDProtocol
import XCTest

final class DaemonTLSTests: XCTestCase {
  private func writeConfig(_ tree: TestFixtureTree, port: UInt16, cert: String, key: String, extra: String = "") -> String {
    tree.write(
      "hd.yaml",
      "port: \(port)\nbind: [\"127.0.0.1\"]\nworkers: 1\ntls_cert: \"\(cert)\"\ntls_key: \"\(key)\"\nktls: off\n" + extra)
  }

  func testDERPOverTLSAndCertificateReloadOnSIGHUP() throws {
    let tree = TestFixtureTree()
    let first = try makeTestCertificate(tree, name: "first")
    let second = try makeTestCertificate(tree, name: "second")
    let port = freeLoopbackPort()
    let path = writeConfig(tree, port: port, cert: first.cert, key: first.key)
    let name = "hd-life-tls-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let notify = try DatagramReceiver(abstractName: name)
    let daemon = try DaemonProcess(arguments: ["--config", path], environment: ["NOTIFY_SOCKET": "@" + name])
    XCTAssertNotNil(notify.receive(timeoutSeconds: 10), "no READY=1:\n\(daemon.stderr)")
    XCTAssertTrue(daemon.waitForLog("TLS on the DERP port"), daemon.stderr)

    func exchangeOverTLS() throws {
      let a = try DERPClient.connectTLS(host: "127.0.0.1", port: port)
      let b = try DERPClient.connectTLS(host: "127.0.0.1", port: port)
      try a.send(to: b.publicKey, packet: [1, 2, 3])
      XCTAssertEqual(try b.receivePacket().packet, [1, 2, 3])
      a.close()
      b.close()
    }
    try exchangeOverTLS()
    XCTAssertThrowsError(try DERPClient.connect(host: "127.0.0.1", port: port), "plain DERP is not spoken on a TLS port")

    _ = writeConfig(tree, port: port, cert: second.cert, key: second.key)
    daemon.signal(SIGHUP)
    XCTAssertTrue(daemon.waitForLog("applied tls_cert"), daemon.stderr)
    try exchangeOverTLS()

    let garbage = tree.write("garbage.crt", "not a certificate\n")
    _ = writeConfig(tree, port: port, cert: garbage, key: second.key)
    daemon.signal(SIGHUP)
    XCTAssertTrue(daemon.waitForLog("reload rejected"), daemon.stderr)
    try exchangeOverTLS()

    daemon.signal(SIGTERM)
    XCTAssertEqual(daemon.waitForExit(timeoutSeconds: 10), 0, daemon.stderr)
  }

  func testKTLSRequiredRefusesToStartWithoutKernelTLS() throws {
    try XCTSkipIf(FileManager.default.fileExists(atPath: "/sys/module/tls"), "this kernel has TLS")
    let tree = TestFixtureTree()
    let pair = try makeTestCertificate(tree, name: "required")
    let path = tree.write(
      "hd.yaml",
      "port: \(freeLoopbackPort())\nbind: [\"127.0.0.1\"]\nworkers: 1\ntls_cert: \"\(pair.cert)\"\n"
        + "tls_key: \"\(pair.key)\"\nktls: required\n")
    let result = try DaemonProcess.run(["--config", path])
    XCTAssertEqual(result.status, 1)
    XCTAssertTrue(result.stderr.lowercased().contains("kernel tls"), result.stderr)
  }
}
