// A relay with TLS on the DERP port: the TLS families, transports and /health
// report what the clients actually negotiated.
import Foundation
import HDClient
import HDProtocol
import HDRelay
import HDTLS
import XCTest

@testable import HDMetrics

final class MetricsRelayTLSTests: XCTestCase {
  func testTLSHandshakesTransportsAndFailuresAreReported() throws {
    let certificate = try TestCertificate.makeDirectory()
    let harness = try MetricsRelayHarness {
      $0.tlsCert = certificate.cert
      $0.tlsKey = certificate.key
      $0.ktls = .off
    }
    var options = DERPClientOptions()
    options.readTimeoutSeconds = 5
    let alice = try DERPClient.connectTLS(
      host: "127.0.0.1", port: harness.relayPort, options: options, tls: TLSClientOptions(version: .tls13))
    let bob = try DERPClient.connectTLS(
      host: "127.0.0.1", port: harness.relayPort, options: options, tls: TLSClientOptions(version: .tls12))
    for _ in 0..<7 { try alice.send(to: bob.publicKey, packet: [UInt8](repeating: 9, count: 1200)) }
    for _ in 0..<7 { XCTAssertEqual(try bob.receivePacket().packet.count, 1200) }
    // Plain HTTP on the TLS port is a failed TLS handshake, not a DERP request.
    let plain = try RawHTTPClient(port: Int(harness.relayPort))
    plain.send("GET /derp HTTP/1.1\r\nHost: x\r\n\r\n")
    XCTAssertTrue(plain.isClosedByPeer())

    // Also until the plain connection's slot is released: the client sees the
    // close before the worker reaps it (a scrape in between counted 3 under TSan).
    let scrape = try harness.scrape {
      $0["hyper_derp_send_packets_total"] == 7
        && $0["hyper_derp_tls_handshake_failures_total{reason=\"not_tls\"}"] == 1
        && $0["hyper_derp_connections_by_transport{transport=\"userspace\"}"] == 2
    }
    XCTAssertEqual(scrape["hyper_derp_tls_handshakes_total{version=\"1.3\"}"], 1)
    XCTAssertEqual(scrape["hyper_derp_tls_handshakes_total{version=\"1.2\"}"], 1)
    XCTAssertEqual(scrape["hyper_derp_tls_handshake_failures_total{reason=\"not_tls\"}"], 1)
    XCTAssertEqual(scrape["hyper_derp_connections_by_transport{transport=\"userspace\"}"], 2)
    XCTAssertEqual(scrape["hyper_derp_connections_by_transport{transport=\"plain\"}"], 0)
    XCTAssertEqual(scrape["hyper_derp_ktls_installs_total"], 0)
    XCTAssertEqual(scrape["hyper_derp_recv_packets_total{kind=\"other\"}"], 7)
    XCTAssertEqual(scrape["hyper_derp_send_packets_total"], 7)
    XCTAssertEqual(PrometheusValidation.strictProblems(scrape.text), [])
    _ = try PrometheusValidation.parseWithPrometheusClient(scrape.text)

    let health = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(try httpGet(port: harness.metricsPort, path: "/health").body))
        as? [String: Any])
    XCTAssertEqual(health["tls_mode"] as? String, "userspace")
    XCTAssertEqual(health["ktls"] as? String, "off")
    XCTAssertEqual(health["connections_by_transport"] as? [String: Int], ["plain": 0, "userspace": 2, "kernel": 0])
    alice.close()
    bob.close()
  }
}
