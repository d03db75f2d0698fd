// Scrapes a real relay during real DERP traffic and checks the counters
// against what the clients sent, byte for byte.
import Foundation
import HDClient
import HDProtocol
import HDRelay
import XCTest

@testable import HDMetrics

final class MetricsRelayIntegrationTests: XCTestCase {
  /// Frame header (type + 4-byte length) and a key.
  private let headerBytes = 5
  private let keyBytes = 32
  /// Ping and Pong frames: header + 8-byte payload.
  private let pingFrameBytes = 13

  /// A scrape taken once the counters stopped moving (completions recorded).
  private func settledScrape(_ harness: MetricsRelayHarness, _ condition: (Scrape) -> Bool = { _ in true }) throws
    -> Scrape
  {
    var previous = try harness.scrape()
    let deadline = Date().addingTimeInterval(5)
    while Date() < deadline {
      usleep(30_000)
      let next = try harness.scrape()
      if condition(next), next["hyper_derp_send_bytes_total"] == previous["hyper_derp_send_bytes_total"],
        next["hyper_derp_recv_bytes_total"] == previous["hyper_derp_recv_bytes_total"]
      {
        return next
      }
      previous = next
    }
    return previous
  }

  private func delta(_ after: Scrape, _ before: Scrape, _ series: String) -> Double? {
    guard let a = after[series], let b = before[series] else { return nil }
    return a - b
  }

  func testCountersMatchTrafficExactly() throws {
    let harness = try MetricsRelayHarness()
    let alice = try harness.connect()
    let bob = try harness.connect()
    try alice.notePreferred(true)
    try alice.ping()
    try bob.ping()
    let before = try settledScrape(harness) { $0["hyper_derp_pongs_sent_total"] == 2 }
    XCTAssertEqual(before["hyper_derp_accepts_total"], 2)
    XCTAssertEqual(before["hyper_derp_connections"], 2)
    XCTAssertEqual(before["hyper_derp_connections_by_transport{transport=\"plain\"}"], 2)
    XCTAssertEqual(before["hyper_derp_peers_active"], 2)
    XCTAssertEqual(before["hyper_derp_home_connections"], 1)
    XCTAssertEqual(before["hyper_derp_workers"], 2)
    XCTAssertEqual(before["hyper_derp_pings_received_total"], 2)

    // Alice → Bob: 10 ordinary packets of 100 bytes and 3 disco packets of 80.
    for _ in 0..<10 { try alice.send(to: bob.publicKey, packet: [UInt8](repeating: 1, count: 100)) }
    for _ in 0..<3 { try alice.send(to: bob.publicKey, packet: discoPacket(bytes: 80)) }
    // Bob → Alice: 5 packets of 1000 bytes.
    for _ in 0..<5 { try bob.send(to: alice.publicKey, packet: [UInt8](repeating: 2, count: 1000)) }
    for _ in 0..<13 { XCTAssertEqual(try bob.receivePacket().source, alice.publicKey) }
    for _ in 0..<5 { XCTAssertEqual(try alice.receivePacket().source, bob.publicKey) }
    try alice.ping()
    try bob.ping()

    let after = try settledScrape(harness) {
      $0["hyper_derp_send_packets_total"] == before["hyper_derp_send_packets_total"].map { $0 + 18 }
    }
    XCTAssertEqual(delta(after, before, "hyper_derp_recv_packets_total{kind=\"other\"}"), 15)
    XCTAssertEqual(delta(after, before, "hyper_derp_recv_packets_total{kind=\"disco\"}"), 3)
    XCTAssertEqual(delta(after, before, "hyper_derp_send_packets_total"), 18)
    let aliceSent = 10 * (headerBytes + keyBytes + 100) + 3 * (headerBytes + keyBytes + 80) + pingFrameBytes
    let bobSent = 5 * (headerBytes + keyBytes + 1000) + pingFrameBytes
    XCTAssertEqual(delta(after, before, "hyper_derp_recv_bytes_total"), Double(aliceSent + bobSent))
    let toBob = 10 * (headerBytes + keyBytes + 100) + 3 * (headerBytes + keyBytes + 80) + pingFrameBytes
    let toAlice = 5 * (headerBytes + keyBytes + 1000) + pingFrameBytes
    XCTAssertEqual(delta(after, before, "hyper_derp_send_bytes_total"), Double(toBob + toAlice))
    XCTAssertEqual(delta(after, before, "hyper_derp_pings_received_total"), 2)
    XCTAssertEqual(delta(after, before, "hyper_derp_pongs_sent_total"), 2)
    for reason in DropReason.allCases {
      for kind in PacketKind.allCases {
        XCTAssertEqual(after.dropped(reason.label, kind.label), 0, "\(reason) \(kind)")
      }
    }

    // Per-worker counter series add up to the totals.
    for (perWorker, total) in [
      ("hyper_derp_worker_recv_bytes_total", "hyper_derp_recv_bytes_total"),
      ("hyper_derp_worker_send_bytes_total", "hyper_derp_send_bytes_total"),
      ("hyper_derp_worker_recv_packets_total", "hyper_derp_recv_packets_total{kind=\"other\"}"),
      ("hyper_derp_worker_send_packets_total", "hyper_derp_send_packets_total"),
    ] {
      let values = (0..<2).compactMap { after["\(perWorker){worker=\"\($0)\"}"] }
      XCTAssertEqual(values.count, 2, perWorker)
      var expected = after[total] ?? -1
      if perWorker == "hyper_derp_worker_recv_packets_total" {
        expected += after["hyper_derp_recv_packets_total{kind=\"disco\"}"] ?? 0
      }
      XCTAssertEqual(values.reduce(0, +), expected, perWorker)
    }
    let peersPerWorker = (0..<2).compactMap { after["hyper_derp_worker_peers{worker=\"\($0)\"}"] }.reduce(0, +)
    XCTAssertEqual(peersPerWorker, 2)

    // /health carries the same totals.
    let health = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(try httpGet(port: harness.metricsPort, path: "/health").body))
        as? [String: Any])
    XCTAssertEqual(health["status"] as? String, "ok")
    XCTAssertEqual(health["peers_active"] as? Int, 2)
    XCTAssertEqual(health["workers"] as? Int, 2)
    XCTAssertGreaterThanOrEqual(
      Double(health["recv_bytes"] as? Int ?? -1), after["hyper_derp_recv_bytes_total"] ?? .infinity)

    // /debug/workers carries each worker's counters, adding up to the totals.
    let workers = try XCTUnwrap(
      (JSONSerialization.jsonObject(with: Data(try httpGet(port: harness.metricsPort, path: "/debug/workers").body))
        as? [String: Any])?["workers"] as? [[String: Any]])
    XCTAssertEqual(workers.count, 2)
    XCTAssertEqual(workers.compactMap { $0["peers"] as? Int }.reduce(0, +), 2)
    XCTAssertGreaterThanOrEqual(
      Double(workers.compactMap { $0["recv_bytes"] as? Int }.reduce(0, +)), after["hyper_derp_recv_bytes_total"] ?? .infinity)

    // /debug/peers lists both keys on the workers the relay chose.
    let peers = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(try httpGet(port: harness.metricsPort, path: "/debug/peers").body))
        as? [String: Any])
    XCTAssertEqual(peers["count"] as? Int, 2)
    let keys = Set(((peers["peers"] as? [[String: Any]]) ?? []).compactMap { $0["key"] as? String })
    XCTAssertEqual(keys, [alice.publicKey.hex, bob.publicKey.hex])

    // Bob leaves: Alice, whom Bob sent to, gets PeerGone(Disconnected).
    bob.close()
    let gone = try alice.receive(
      until: {
        if case .peerGone = $0 { return true }
        return false
      }, timeoutSeconds: 5)
    XCTAssertEqual(gone, .peerGone(bob.publicKey, reason: 0))
    let afterGone = try settledScrape(harness) { $0["hyper_derp_connections"] == 1 }
    XCTAssertEqual(delta(afterGone, before, "hyper_derp_peer_gone_frames_sent_total{reason=\"disconnected\"}"), 1)
    XCTAssertEqual(afterGone["hyper_derp_peers_active"], 1)

    // The whole scrape is valid for a real Prometheus parser and our strict rules.
    XCTAssertEqual(PrometheusValidation.strictProblems(afterGone.text), [])
    let families = try PrometheusValidation.parseWithPrometheusClient(afterGone.text)
    XCTAssertEqual(
      PrometheusValidation.value(families, "hyper_derp_recv_packets_total", ["kind": "disco"]),
      after["hyper_derp_recv_packets_total{kind=\"disco\"}"])
  }

  func testDropsAreCountedByReasonAndKind() throws {
    let harness = try MetricsRelayHarness()
    let alice = try harness.connect()
    let stranger = DERPKeyPair.generate().publicKey

    // unknown_dest: 4 ordinary packets (50 bytes) and 2 disco packets (80) to a key nobody has.
    for _ in 0..<4 { try alice.send(to: stranger, packet: [UInt8](repeating: 3, count: 50)) }
    for _ in 0..<2 { try alice.send(to: stranger, packet: discoPacket(bytes: 80)) }
    // Disco to an unknown key earns PeerGone(NotHere) (burst 3).
    for _ in 0..<2 {
      XCTAssertEqual(
        try alice.receive(
          until: {
            if case .peerGone = $0 { return true }
            return false
          }, timeoutSeconds: 5), .peerGone(stranger, reason: 1))
    }
    var scrape = try harness.scrape { $0["hyper_derp_peer_gone_frames_sent_total{reason=\"not_here\"}"] == 2 }
    XCTAssertEqual(scrape.dropped("unknown_dest", "other"), 4)
    XCTAssertEqual(scrape.droppedBytes("unknown_dest", "other"), 200)
    XCTAssertEqual(scrape.dropped("unknown_dest", "disco"), 2)
    XCTAssertEqual(scrape.droppedBytes("unknown_dest", "disco"), 160)
    XCTAssertEqual(scrape["hyper_derp_peer_gone_frames_sent_total{reason=\"not_here\"}"], 2)

    // Queue overflow: Carol never reads. Once her socket buffers (a few MiB on
    // loopback, more if the host raised tcp_wmem/tcp_rmem) are full, her
    // 32-packet queue overflows and packets are dropped. Send in chunks until
    // that shows, so the test doesn't depend on the host's buffer sizes.
    let carol = try harness.connect()
    try carol.ping()
    let packetBytes = 60_000
    var packets = 0
    repeat {
      for _ in 0..<50 { try alice.send(to: carol.publicKey, packet: [UInt8](repeating: 4, count: packetBytes)) }
      packets += 50
      try alice.ping()
      scrape = try harness.scrape()
    } while (scrape.dropped("queue_head", "other") ?? 0) + (scrape.dropped("queue_tail", "other") ?? 0) == 0
      && packets < 2000
    scrape = try harness.scrape { $0["hyper_derp_recv_packets_total{kind=\"other\"}"] == Double(4 + packets) }
    XCTAssertEqual(scrape["hyper_derp_recv_packets_total{kind=\"other\"}"], Double(4 + packets))
    let queueDrops = (scrape.dropped("queue_head", "other") ?? 0) + (scrape.dropped("queue_tail", "other") ?? 0)
    XCTAssertGreaterThan(queueDrops, 0)
    XCTAssertEqual(
      (scrape.droppedBytes("queue_head", "other") ?? 0) + (scrape.droppedBytes("queue_tail", "other") ?? 0),
      queueDrops * Double(packetBytes))

    // Carol's sends make no progress, so the write timeout (2 s) closes her:
    // what was still queued is dropped as write_error.
    scrape = try harness.scrape(
      until: { $0["hyper_derp_write_timeouts_total"] == 1 && $0["hyper_derp_connections"] == 1 }, timeoutSeconds: 10)
    XCTAssertEqual(scrape["hyper_derp_write_timeouts_total"], 1)
    let writeErrors = scrape.dropped("write_error", "other") ?? 0
    // About 1 run in 4 no data frame is left queued when the timeout fires
    // (write_error 0, every packet sent or head/tail-dropped instead); why is
    // not understood yet, so the invariant asserted is that every packet is
    // accounted for, whatever the split between reasons.
    XCTAssertEqual(scrape.droppedBytes("write_error", "other"), writeErrors * Double(packetBytes))
    // Every packet for Carol is accounted for: written to her socket or dropped
    // for a reason (the first 4 ordinary drops were the unknown_dest ones).
    var droppedOther = 0.0
    for reason in DropReason.allCases { droppedOther += scrape.dropped(reason.label, "other") ?? 0 }
    XCTAssertEqual((scrape["hyper_derp_send_packets_total"] ?? 0) + droppedOther - 4, Double(packets))
    XCTAssertEqual(PrometheusValidation.strictProblems(scrape.text), [])
    _ = try PrometheusValidation.parseWithPrometheusClient(scrape.text)
    carol.close()
  }

  func testHandshakeFailuresAndDuplicateKeysAreCounted() throws {
    let harness = try MetricsRelayHarness()
    // bad_http: not HTTP at all.
    let garbage = try RawHTTPClient(port: Int(harness.relayPort))
    garbage.send("NONSENSE\r\n\r\n")
    XCTAssertTrue(garbage.isClosedByPeer())
    // non_derp_request: a probe is answered and closed.
    XCTAssertEqual(try httpGet(port: Int(harness.relayPort), path: "/generate_204").status, 204)
    var scrape = try harness.scrape {
      $0["hyper_derp_handshake_failures_total{reason=\"bad_http\"}"] == 1
        && $0["hyper_derp_handshake_failures_total{reason=\"non_derp_request\"}"] == 1
    }
    XCTAssertEqual(scrape["hyper_derp_handshake_failures_total{reason=\"bad_http\"}"], 1)
    XCTAssertEqual(scrape["hyper_derp_handshake_failures_total{reason=\"non_derp_request\"}"], 1)

    // The same key twice: both stay connected and are counted as duplicates.
    let keys = DERPKeyPair.generate()
    let first = try harness.connect(keys: keys)
    let second = try harness.connect(keys: keys)
    try first.ping()
    try second.ping()
    scrape = try harness.scrape { $0["hyper_derp_dup_client_keys"] == 1 }
    XCTAssertEqual(scrape["hyper_derp_dup_client_keys"], 1)
    XCTAssertEqual(scrape["hyper_derp_dup_client_connections"], 2)
    XCTAssertEqual(scrape["hyper_derp_dup_client_connections_total"], 1)
    XCTAssertEqual(scrape["hyper_derp_peers_active"], 2)
    second.close()
    scrape = try harness.scrape { $0["hyper_derp_dup_client_keys"] == 0 }
    XCTAssertEqual(scrape["hyper_derp_dup_client_keys"], 0)
    XCTAssertEqual(scrape["hyper_derp_dup_client_connections"], 0)
    XCTAssertEqual(scrape["hyper_derp_dup_client_connections_total"], 1)
    first.close()
  }

  func testBadMetricsRequestsDoNotDisturbTheRelay() throws {
    let harness = try MetricsRelayHarness(debugEndpoints: false)
    let alice = try harness.connect()
    let bob = try harness.connect()
    XCTAssertEqual(try httpGet(port: harness.metricsPort, path: "/debug/peers").status, 404)
    XCTAssertEqual(try httpGet(port: harness.metricsPort, path: "/debug/workers").status, 404)
    let malformed = try RawHTTPClient(port: harness.metricsPort)
    malformed.send("GET /metrics HTTP/1.1\r\nHost x\r\n\r\n")
    XCTAssertEqual(try malformed.readResponse().status, 400)
    let oversized = try RawHTTPClient(port: harness.metricsPort)
    oversized.send("GET /metrics HTTP/1.1\r\nHost: x\r\nX: " + String(repeating: "y", count: 16_384) + "\r\n\r\n")
    XCTAssertEqual(try oversized.readResponse().status, 431)
    // A stalled metrics client holds a connection open while the relay keeps relaying.
    let stalled = try RawHTTPClient(port: harness.metricsPort)
    stalled.send("GET /met")
    for sequence in 0..<50 {
      let packet = [UInt8](repeating: UInt8(sequence), count: 500)
      try alice.send(to: bob.publicKey, packet: packet)
      let received = try bob.receivePacket()
      XCTAssertEqual(received.packet, packet)
    }
    let scrape = try harness.scrape { $0["hyper_derp_send_packets_total"] == 50 }
    XCTAssertEqual(scrape["hyper_derp_send_packets_total"], 50)
    XCTAssertEqual(scrape["hyper_derp_metrics_http_responses_total{code=\"400\"}"], 1)
    XCTAssertEqual(scrape["hyper_derp_metrics_http_responses_total{code=\"431\"}"], 1)
    XCTAssertEqual(scrape["hyper_derp_metrics_http_responses_total{code=\"404\"}"], 2)
  }
}
