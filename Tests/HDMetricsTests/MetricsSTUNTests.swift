// A real STUN responder attached to a real metrics server: binding requests
// and malformed datagrams over loopback UDP must show up in the scrape as the
// hyper_derp_stun_* families with exact counts.
import Foundation
import HDConfig
import HDRelay
import XCTest

@testable import HDMetrics

final class MetricsSTUNTests: XCTestCase {
  private let goodRequestCount = 7

  func testSTUNFamiliesCountRequestsAndDropsAndStillParse() throws {
    let stun = try STUNServer(bind: ["127.0.0.1"], port: 0)
    try stun.start()
    addTeardownBlock { stun.stop() }
    let stunPort = UInt16(stun.port)
    XCTAssertNotEqual(stunPort, 0)

    let config = Config(metrics: MetricsConfig(port: 0, bind: ["127.0.0.1"]))
    let metrics = try MetricsServer(
      config: config, source: FakeMetricsSource(), build: BuildInfo(version: "stun-test"),
      logger: Logger(label: "metrics-stun-test"))
    try metrics.start()
    addTeardownBlock { metrics.stop() }
    let metricsPort = try XCTUnwrap(metrics.boundPorts.first)

    // Before attaching: STUN off as far as /metrics knows, so no STUN families.
    let before = try httpGet(port: metricsPort, path: "/metrics").bodyText
    XCTAssertFalse(before.contains("hyper_derp_stun_"), "STUN families without a responder")

    metrics.attachSTUN(stun)
    let zero = Scrape(try httpGet(port: metricsPort, path: "/metrics").bodyText)
    XCTAssertEqual(zero["hyper_derp_stun_requests_total{family=\"ipv4\"}"], 0)
    XCTAssertEqual(zero["hyper_derp_stun_requests_total{family=\"ipv6\"}"], 0)
    for reason in STUNDropReason.allCases {
      XCTAssertEqual(zero["hyper_derp_stun_dropped_total{reason=\"\(reason.label)\"}"], 0, reason.label)
    }

    let client = try UDPTestSocket()
    // Malformed first: the responder reads one socket in order, so by the time
    // the good requests are answered these have been counted.
    let malformed = MalformedSTUN.all
    for datagram in malformed.map(\.bytes) { client.send(datagram, toPort: stunPort) }
    for _ in 0..<goodRequestCount {
      let txID = (0..<12).map { _ in UInt8.random(in: 0...255) }
      client.send(bareBindingRequest(txID), toPort: stunPort)
      let reply = try XCTUnwrap(client.receive(timeoutSeconds: 3), "no STUN answer")
      XCTAssertEqual(Array(reply[0..<2]), [0x01, 0x01], "not a Binding Success Response")
      XCTAssertEqual(Array(reply[8..<20]), txID)
    }
    XCTAssertNil(client.receive(timeoutSeconds: 0.05), "a malformed datagram was answered")

    // The responses counter is bumped after sendmmsg returns, possibly after
    // our recv: poll the scrape until it catches up (bounded), then compare exactly.
    var scrape = Scrape("")
    let deadline = Date().addingTimeInterval(5)
    repeat {
      scrape = Scrape(try httpGet(port: metricsPort, path: "/metrics").bodyText)
      if scrape["hyper_derp_stun_responses_total"] == Double(goodRequestCount) { break }
      usleep(10_000)
    } while Date() < deadline
    XCTAssertEqual(scrape["hyper_derp_stun_requests_total{family=\"ipv4\"}"], Double(goodRequestCount))
    XCTAssertEqual(scrape["hyper_derp_stun_requests_total{family=\"ipv6\"}"], 0)
    XCTAssertEqual(scrape["hyper_derp_stun_responses_total"], Double(goodRequestCount))
    XCTAssertEqual(scrape["hyper_derp_stun_send_failures_total"], 0)
    XCTAssertEqual(scrape["hyper_derp_stun_receive_errors_total"], 0)
    for reason in STUNDropReason.allCases {
      let expected = malformed.filter { $0.reason == reason }.count
      XCTAssertEqual(
        scrape["hyper_derp_stun_dropped_total{reason=\"\(reason.label)\"}"], Double(expected), reason.label)
    }
    // The metrics view agrees with the responder's own counters.
    let direct = stun.statsSnapshot()
    XCTAssertEqual(direct.malformedTotal, UInt64(malformed.count))

    XCTAssertEqual(PrometheusValidation.strictProblems(scrape.text), [])
    let families = try PrometheusValidation.parseWithPrometheusClient(scrape.text)
    XCTAssertEqual(families["hyper_derp_stun_requests"]?.type, "counter")
    XCTAssertEqual(families["hyper_derp_stun_dropped"]?.samples.count, STUNDropReason.allCases.count)
    XCTAssertEqual(
      PrometheusValidation.value(families, "hyper_derp_stun_dropped_total", ["reason": "too_short"]),
      Double(malformed.filter { $0.reason == .tooShort }.count))
  }

  /// The smallest valid Binding Request: the 20-byte header, no attributes.
  private func bareBindingRequest(_ txID: [UInt8]) -> [UInt8] {
    [0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42] + txID
  }
}

/// Datagrams the responder must drop, each with the reason it must count.
private enum MalformedSTUN {
  static let txID: [UInt8] = Array(repeating: 0xAB, count: 12)
  static let cookie: [UInt8] = [0x21, 0x12, 0xA4, 0x42]

  static let all: [(bytes: [UInt8], reason: STUNDropReason)] = [
    (Array(repeating: 0, count: 10), .tooShort),
    ([0x00], .tooShort),
    (Array(repeating: 0, count: 1500), .tooLong),
    ([0x00, 0x01, 0x00, 0x00, 0xDE, 0xAD, 0xBE, 0xEF] + txID, .notSTUN),
    // Header claims 8 attribute bytes, datagram has none.
    ([0x00, 0x01, 0x00, 0x08] + cookie + txID, .badLength),
    // Binding Success Response sent to the server.
    ([0x01, 0x01, 0x00, 0x00] + cookie + txID, .notBindingRequest),
    // USERNAME (0x0006, comprehension-required) is not implemented.
    ([0x00, 0x01, 0x00, 0x08] + cookie + txID + [0x00, 0x06, 0x00, 0x04, 0x61, 0x62, 0x63, 0x64], .unknownRequiredAttribute),
  ]
}

/// An IPv4 loopback UDP socket for the test (the HDRelay tests' client lives in another target).
private final class UDPTestSocket {
  let fd: Int32

  init() throws {
    fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
  }

  deinit { close(fd) }

  func send(_ bytes: [UInt8], toPort port: UInt16) {
    var sin = sockaddr_in()
    sin.sin_family = sa_family_t(AF_INET)
    sin.sin_port = port.bigEndian
    sin.sin_addr.s_addr = inet_addr("127.0.0.1")
    let sent = withUnsafePointer(to: &sin) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        sendto(fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    XCTAssertEqual(sent, bytes.count)
  }

  /// The next datagram, or nil after `timeoutSeconds`.
  func receive(timeoutSeconds: Double) -> [UInt8]? {
    var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    guard poll(&p, 1, Int32(timeoutSeconds * 1000)) == 1 else { return nil }
    var buffer = [UInt8](repeating: 0, count: 2048)
    let n = recv(fd, &buffer, buffer.count, 0)
    return n < 0 ? nil : Array(buffer[0..<n])
  }
}
