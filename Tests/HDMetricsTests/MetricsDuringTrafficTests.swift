// Scrapes continuously while packets flow: every scrape is well-formed, no
// counter ever goes backwards, and the final counts are exact.
import Foundation
import HDClient
import HDProtocol
import XCTest

@testable import HDMetrics

final class MetricsDuringTrafficTests: XCTestCase {
  func testScrapesDuringTrafficAreConsistentAndFinalCountsExact() throws {
    let harness = try MetricsRelayHarness()
    let alice = try harness.connect()
    let bob = try harness.connect()
    let bobKey = bob.publicKey
    try alice.ping()
    try bob.ping()

    let packets = 2000
    let packetBytes = 700
    let scrapes = ScrapeLog()
    let stop = ScrapeLog.Flag()
    let port = harness.metricsPort
    let scraper = Thread {
      // One keep-alive connection, like Prometheus.
      guard let client = try? RawHTTPClient(port: port) else { return scrapes.fail("connect") }
      while !stop.isSet {
        client.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        guard let response = try? client.readResponse(), response.status == 200 else { return scrapes.fail("scrape") }
        scrapes.append(Scrape(response.bodyText))
      }
    }
    scraper.start()
    // Bob reads concurrently so Alice is never throttled by his socket. Only
    // the receiver thread touches Bob from here on.
    let bobOnReceiver = HandOver(bob)
    let received = ScrapeLog.Counter()
    let receiver = Thread {
      for _ in 0..<packets {
        if (try? bobOnReceiver.value.receivePacket(timeoutSeconds: 10)) == nil { return scrapes.fail("receive") }
        received.increment()
      }
    }
    receiver.start()
    // Alice stays at most 16 packets ahead of Bob: the relay queues 32 per
    // destination and drops beyond that (derper's policy), and this test is
    // about exact counts, not about overload.
    for sequence in 0..<packets {
      let deadline = Date().addingTimeInterval(10)
      while sequence - received.value >= 16 && Date() < deadline && scrapes.failure == nil { usleep(200) }
      try alice.send(to: bobKey, packet: [UInt8](repeating: UInt8(truncatingIfNeeded: sequence), count: packetBytes))
    }
    let final = try harness.scrape { $0["hyper_derp_send_packets_total"] == Double(packets) }
    stop.set()
    while scraper.isExecuting || receiver.isExecuting { usleep(10_000) }

    XCTAssertNil(scrapes.failure)
    let log = scrapes.all
    XCTAssertGreaterThan(log.count, 3, "the scraper should have run during the traffic")
    // Counters never decrease from one scrape to the next.
    for (earlier, later) in zip(log, log.dropFirst()) {
      for (series, value) in earlier.values where series.contains("_total") {
        guard let next = later[series] else { return XCTFail("\(series) vanished") }
        XCTAssertGreaterThanOrEqual(next, value, series)
      }
    }
    // Some scrape saw the traffic in progress, not only before or after.
    XCTAssertTrue(
      log.contains {
        let sent = $0["hyper_derp_send_packets_total"] ?? 0
        return sent > 0 && sent < Double(packets)
      } || log.count < 3)
    XCTAssertEqual(final["hyper_derp_recv_packets_total{kind=\"other\"}"], Double(packets))
    XCTAssertEqual(final["hyper_derp_send_packets_total"], Double(packets))
    // SendPacket frames plus both clients' Ping frames (13 bytes each).
    XCTAssertEqual(final["hyper_derp_recv_bytes_total"], Double(packets * (5 + 32 + packetBytes) + 2 * 13))
    for reason in ["unknown_dest", "queue_head", "queue_tail", "write_error", "no_memory", "xfer_ring_full"] {
      XCTAssertEqual(final.dropped(reason, "other"), 0, reason)
    }
    XCTAssertEqual(PrometheusValidation.strictProblems(log[log.count / 2].text), [])
  }
}

/// Scrapes collected by the scraper thread.
final class ScrapeLog: @unchecked Sendable {
  private let lock = NSLock()
  private var scrapes: [Scrape] = []
  private var firstFailure: String?

  func append(_ scrape: Scrape) { lock.withLock { scrapes.append(scrape) } }
  func fail(_ what: String) { lock.withLock { if firstFailure == nil { firstFailure = what } } }
  var all: [Scrape] { lock.withLock { scrapes } }
  var failure: String? { lock.withLock { firstFailure } }

  final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
  }

  final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
  }
}

/// Moves a non-Sendable value to another thread that becomes its only user.
final class HandOver<Value>: @unchecked Sendable {
  let value: Value
  init(_ value: Value) { self.value = value }
}
