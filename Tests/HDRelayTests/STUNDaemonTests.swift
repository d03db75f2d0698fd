// The built hyper-derp binary with --stun-port: the responder answers on the
// configured bind addresses, and SIGTERM stops it with the rest of the daemon.
import Foundation
import XCTest

final class STUNDaemonTests: XCTestCase {
  /// A UDP port free on both 127.0.0.1 and ::1 a moment ago.
  private func freeUDPPort() throws -> UInt16 {
    for _ in 0..<20 {
      let v4 = try STUNTestSocket(loopback: AF_INET)
      let port = v4.localPort
      var probe = STUNTestSocket.address(family: AF_INET6, port: port)
      let fd = socket(AF_INET6, Int32(SOCK_DGRAM.rawValue), 0)
      defer { close(fd) }
      let rc = withUnsafePointer(to: &probe) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, STUNTestSocket.length(AF_INET6)) }
      }
      if rc == 0 { return port }
    }
    throw DaemonProcessError("no UDP port free on both loopback addresses")
  }

  func testStunPortAnswersBindingRequestsOnBothFamiliesUntilSIGTERM() throws {
    let tree = TestFixtureTree()
    let path = tree.write(
      "stun.yaml", "port: \(freeLoopbackPort())\nbind: [\"127.0.0.1\", \"::1\"]\nworkers: 1\nlog_level: info\n")
    let stunPort = try freeUDPPort()
    let daemon = try DaemonProcess(arguments: ["--config", path, "--stun-port", "\(stunPort)"])
    XCTAssertTrue(daemon.waitForLog("STUN responder listening"), daemon.stderr)
    XCTAssertTrue(daemon.stderr.contains("127.0.0.1:\(stunPort)") && daemon.stderr.contains("[::1]:\(stunPort)"), daemon.stderr)

    for family in [AF_INET, AF_INET6] {
      let client = try STUNTestSocket(loopback: family)
      let answer = client.bindingRoundTrip(port: stunPort)
      XCTAssertEqual(answer?.address, client.localAddress)
      XCTAssertEqual(answer?.port, client.localPort)
      XCTAssertEqual(answer?.fingerprintValid, true)
    }

    daemon.signal(SIGTERM)
    XCTAssertEqual(daemon.waitForExit(timeoutSeconds: 10), 0, daemon.stderr)
    XCTAssertTrue(daemon.stderr.contains("STUN responder stopped: requests ipv4 1, ipv6 1, responses 2"), daemon.stderr)
    let client = try STUNTestSocket(loopback: AF_INET)
    client.send(STUNTestMessage.tailscaleRequest(STUNTestMessage.randomTxID()), toPort: stunPort)
    XCTAssertNil(client.receive(timeoutSeconds: 0.3), "answered after the daemon exited")
  }

  func testATakenStunPortStopsTheDaemonWithTheReason() throws {
    let tree = TestFixtureTree()
    let path = tree.write("stun.yaml", "port: \(freeLoopbackPort())\nbind: [\"127.0.0.1\"]\nworkers: 1\n")
    let holder = try STUNTestSocket(loopback: AF_INET)
    let result = try DaemonProcess.run(["--config", path, "--stun-port", "\(holder.localPort)"])
    XCTAssertNotEqual(result.status, 0)
    XCTAssertNotNil(result.status, "daemon kept running with its STUN port taken")
    XCTAssertTrue(result.stderr.contains("STUN bind 127.0.0.1 UDP port \(holder.localPort)"), result.stderr)
  }
}
