// The daemon wires its STUN responder into its metrics server: with
// --stun-port the scrape carries hyper_derp_stun_* counting real requests;
// without it the STUN families are absent.
import Foundation
import XCTest

final class STUNDaemonMetricsTests: XCTestCase {
  func testDaemonExportsSTUNCountersOnlyWhenStunPortIsSet() throws {
    let tree = TestFixtureTree()
    for stunEnabled in [true, false] {
      let metricsPort = freeLoopbackPort()
      let path = tree.write(
        "stun-metrics-\(stunEnabled).yaml",
        "port: \(freeLoopbackPort())\nbind: [\"127.0.0.1\"]\nworkers: 1\n"
          + "metrics:\n  port: \(metricsPort)\n  bind: [\"127.0.0.1\"]\n")
      // A free UDP port: the probe socket closes again at once (deinit).
      let stunPort = try STUNTestSocket(loopback: AF_INET).localPort
      let daemon = try DaemonProcess(
        arguments: ["--config", path] + (stunEnabled ? ["--stun-port", "\(stunPort)"] : []))
      // /health turns 200 only after the daemon attached STUN to the metrics server.
      XCTAssertTrue(waitForStatus200(port: metricsPort, path: "/health"), daemon.stderr)

      if stunEnabled {
        let client = try STUNTestSocket(loopback: AF_INET)
        XCTAssertNotNil(client.bindingRoundTrip(port: stunPort))
        // The responses counter is bumped after sendmmsg returns: poll briefly.
        var body = ""
        let deadline = Date().addingTimeInterval(5)
        repeat {
          body = scrape(port: metricsPort)
          if body.contains("\nhyper_derp_stun_responses_total 1\n") { break }
          usleep(10_000)
        } while Date() < deadline
        XCTAssertTrue(body.contains("\nhyper_derp_stun_requests_total{family=\"ipv4\"} 1\n"), body)
        XCTAssertTrue(body.contains("\nhyper_derp_stun_responses_total 1\n"), body)
        XCTAssertTrue(body.contains("\nhyper_derp_stun_dropped_total{reason=\"not_stun\"} 0\n"), body)
      } else {
        let body = scrape(port: metricsPort)
        XCTAssertTrue(body.contains("hyper_derp_recv_bytes_total"), body)
        XCTAssertFalse(body.contains("hyper_derp_stun_"), "STUN families with stun_port 0")
      }
      daemon.signal(SIGTERM)
      XCTAssertEqual(daemon.waitForExit(timeoutSeconds: 10), 0, daemon.stderr)
    }
  }

  private func scrape(port: UInt16) -> String {
    guard let connection = try? RawConnection(port: port) else { return "" }
    connection.send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    return HTTPReply(connection.readToEnd(timeoutSeconds: 3))?.body ?? ""
  }

  private func waitForStatus200(port: UInt16, path: String) -> Bool {
    let deadline = Date().addingTimeInterval(10)
    while Date() < deadline {
      if let connection = try? RawConnection(port: port) {
        connection.send("GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        if HTTPReply(connection.readToEnd(timeoutSeconds: 3))?.status == 200 { return true }
      }
      usleep(20_000)
    }
    return false
  }
}
