// The probe's pieces that need no relay: reading STUN answers, reading a
// scrape, the exposition of results and the status page.
import HDConfig
import XCTest

@testable import HDProbe

final class ProbePiecesTests: XCTestCase {
  private let transaction: [UInt8] = Array(1...12)

  /// A Binding Success Response with XOR-MAPPED-ADDRESS for 192.0.2.7:40000 (RFC 5389 §15.2).
  private func answer(transaction: [UInt8], address: [UInt8] = [192, 0, 2, 7], port: Int = 40000) -> [UInt8] {
    let mask = STUNBinding.cookie + transaction
    let xport = port ^ 0x2112
    let value: [UInt8] = [0, 1, UInt8(xport >> 8), UInt8(xport & 0xFF)] + (0..<4).map { address[$0] ^ mask[$0] }
    return [0x01, 0x01, 0, 12] + STUNBinding.cookie + transaction + [0x00, 0x20, 0, 8] + value
  }

  func testSTUNAnswerIsReadOnlyForOurTransaction() {
    XCTAssertEqual(STUNBinding.mappedAddress(answer(transaction: transaction), transactionID: transaction), "192.0.2.7:40000")
    XCTAssertNil(STUNBinding.mappedAddress(answer(transaction: transaction), transactionID: Array(repeating: 9, count: 12)))
    var errorResponse = answer(transaction: transaction)
    errorResponse[1] = 0x11
    XCTAssertNil(STUNBinding.mappedAddress(errorResponse, transactionID: transaction))
    XCTAssertNil(STUNBinding.mappedAddress(Array(answer(transaction: transaction).prefix(25)), transactionID: transaction))
  }

  func testTheRequestIsTailscalesBindingRequest() {
    let request = STUNBinding.request(transactionID: transaction)
    XCTAssertEqual(request.count, 20 + 12 + 8)
    XCTAssertEqual(Array(request[0..<2]), [0x00, 0x01])
    XCTAssertEqual(Array(request[4..<8]), STUNBinding.cookie)
    XCTAssertEqual(String(decoding: request[24..<32], as: UTF8.self), "tailnode")
    // FINGERPRINT: CRC-32 of everything before it, XOR 0x5354554e (RFC 5389 §15.5).
    let crc = STUNBinding.crc32(Array(request[0..<32])) ^ 0x5354_554E
    XCTAssertEqual(Array(request[36..<40]), [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)])
    XCTAssertEqual(STUNBinding.crc32(Array("123456789".utf8)), 0xCBF4_3926, "the CRC-32 check value")
  }

  func testOnlyPublicAddressesMakeAMismatchAFailure() {
    for local in ["127.0.0.1:1", "10.1.2.3:1", "172.20.0.1:1", "192.168.1.1:1", "100.100.1.1:1", "[fd00::1]:1", "[::1]:1"] {
      XCTAssertFalse(STUNBinding.isPublic(local), local)
    }
    for local in ["203.0.113.5:1", "172.32.0.1:1", "[2001:db8::1]:1"] { XCTAssertTrue(STUNBinding.isPublic(local), local) }
  }

  func testPercentilesAreNearestRank() {
    let samples = (1...100).map(Double.init).shuffled()
    XCTAssertEqual(percentile(samples, 0.5), 50)
    XCTAssertEqual(percentile(samples, 0.99), 99)
    XCTAssertEqual(percentile([7], 0.99), 7)
    XCTAssertNil(percentile([], 0.5))
  }

  func testScrapeReadingSumsAndSplitsByLabel() {
    let text = """
      # HELP hyper_derp_packets_dropped_total x
      # TYPE hyper_derp_packets_dropped_total counter
      hyper_derp_packets_dropped_total{reason="queue_tail",kind="disco"} 2
      hyper_derp_packets_dropped_total{reason="queue_tail",kind="other"} 3
      hyper_derp_packets_dropped_total{kind="other",reason="unknown_dest"} 5
      hyper_derp_build_info{version="1.2 \\"x\\""} 1
      not a sample line
      """
    let samples = PrometheusSamples(text: text)
    XCTAssertEqual(samples.sum("hyper_derp_packets_dropped_total"), 10)
    XCTAssertEqual(samples.sum("hyper_derp_packets_dropped_total", ["kind": "other"]), 8)
    XCTAssertEqual(samples.sumBy("hyper_derp_packets_dropped_total", label: "reason"), ["queue_tail": 5, "unknown_dest": 5])
    XCTAssertEqual(samples.first("hyper_derp_build_info")?.labels["version"], "1.2 \"x\"")
    XCTAssertNil(samples.sum("hyper_derp_missing"))
  }

  private func report(_ outcome: ProbeOutcome, detail: String = "ok") -> ProbeReport {
    var mesh = ProbeCheckResult(kind: .mesh, regionCode: "fra", node: "900a", peer: "900b", outcome: outcome, detail: detail)
    mesh.latencySeconds = [0.0004, 0.003, 7]
    let tls = ProbeCheckResult(kind: .tls, regionCode: "fra", node: "900a", outcome: .ok, detail: "<b>&")
    let facts = ProbeNodeFacts(regionCode: "fra", node: "900a", certificateNotAfter: 1_900_000_000)
    return ProbeReport(startedAtSeconds: 1_800_000_000, durationSeconds: 1.5, checks: [tls, mesh], nodes: [facts])
  }

  func testExpositionCarriesResultsHistogramsAndCounters() {
    var history = ProbeHistory()
    history.record(report(.ok))
    history.record(report(.failed, detail: "mesh link down"))
    let text = history.exposition()
    let samples = PrometheusSamples(text: text)
    let meshLabels = ["check": "mesh", "node": "900a", "peer": "900b", "region": "fra"]
    XCTAssertEqual(samples.sum(ProbeMetricNames.success, meshLabels), 0, "the latest pass failed")
    XCTAssertEqual(samples.sum(ProbeMetricNames.success, ["check": "tls"]), 1)
    XCTAssertEqual(samples.sum(ProbeMetricNames.failures, meshLabels), 1)
    XCTAssertEqual(samples.sum(ProbeMetricNames.lastSuccess, meshLabels), 1_800_000_000)
    XCTAssertEqual(samples.sum(ProbeMetricNames.runs), 2)
    XCTAssertEqual(samples.sum(ProbeMetricNames.certificateExpiry), 1_900_000_000)
    // Cumulative buckets: 2 samples per pass ≤ 5 ms, the 7 s one only in +Inf.
    XCTAssertEqual(samples.sum(ProbeMetricNames.latency + "_bucket", ["le": "0.0005"]), 2)
    XCTAssertEqual(samples.sum(ProbeMetricNames.latency + "_bucket", ["le": "0.005"]), 4)
    XCTAssertEqual(samples.sum(ProbeMetricNames.latency + "_bucket", ["le": "5.0"]), 4)
    XCTAssertEqual(samples.sum(ProbeMetricNames.latency + "_bucket", ["le": "+Inf"]), 6)
    XCTAssertEqual(samples.sum(ProbeMetricNames.latency + "_count"), 6)
    for name in [ProbeMetricNames.success, ProbeMetricNames.latency, ProbeMetricNames.runs] {
      XCTAssertTrue(text.contains("# TYPE \(name) "), name)
    }
    let page = history.statusPage()
    XCTAssertTrue(page.contains("900a-&gt;900b") && page.contains("&lt;b&gt;&amp;") && page.contains("1 failed"), page)
    XCTAssertFalse(page.contains("<b>&"), "details are escaped")
  }

  func testStatusCombinesHealthAndTwoScrapes() {
    let health = HTTPFetchResponse(
      status: 200, headers: [],
      body: Array(#"{"status":"ok","uptime_seconds":90,"workers":2,"peers_active":3,"tls_mode":"kernel","ktls":"auto","connections":4,"connections_by_transport":{"plain":0,"userspace":1,"kernel":3},"mesh_peers":{"configured":2,"connected":1}}"#.utf8))
    let before = PrometheusSamples(text: "hyper_derp_recv_bytes_total 1000\nhyper_derp_packets_dropped_total{reason=\"queue_tail\",kind=\"other\"} 1\n")
    let after = PrometheusSamples(text: """
      hyper_derp_recv_bytes_total 3000
      hyper_derp_packets_dropped_total{reason="queue_tail",kind="other"} 5
      hyper_derp_build_info{version="9.9"} 1
      hyper_derp_tls_cert_expiry_timestamp_seconds{listener="derp"} 4102444800
      process_open_fds 10
      process_max_fds 100
      """)
    let status = RelayStatusReader.combine(url: "http://x", health: health, before: before, after: after, elapsedSeconds: 2)
    XCTAssertEqual(status.recvBytesPerSecond, 1000)
    XCTAssertEqual(status.dropsPerSecondByReason["queue_tail"], 2)
    XCTAssertEqual(status.peers, 3)
    XCTAssertEqual(status.meshPeersConfigured, 2)
    XCTAssertEqual(status.meshPeersConnected, 1)
    XCTAssertEqual(status.connectionsByTransport["kernel"], 3)
    XCTAssertEqual(status.version, "9.9")
    XCTAssertEqual(status.certificateExpiry["derp"], 4_102_444_800)
    let text = status.text()
    for expected in ["1/2 links up", "kernel, ktls: auto", "queue_tail 5 (2/s)", "derp expires 2100-01-01", "10 of 100 (10 %)"] {
      XCTAssertTrue(text.contains(expected), "\(expected) in\n\(text)")
    }
    XCTAssertTrue(status.json().contains("\"recv_bytes_per_second\":1000"), status.json())
  }
}
