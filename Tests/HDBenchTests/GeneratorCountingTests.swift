import HDClient
import HDProtocol
import XCTest
@testable import hd_bench

/// The generator against the real relay with known traffic: counts must be exact.
final class GeneratorCountingTests: XCTestCase {
  func config(port: UInt16, pairs: Int, rateMbps: Double, messageBytes: Int = 1400) -> ThroughputConfig {
    var c = ThroughputConfig()
    c.port = port
    c.pairs = pairs
    c.peers = 2 * pairs
    c.messageBytes = messageBytes
    c.rateMbps = rateMbps
    c.warmupSeconds = 0.1
    c.durationSeconds = 10
    c.drainSeconds = 5
    return c
  }

  func assertExact(_ r: ThroughputResult, perSender: UInt64, messageBytes: Int, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(r.sendErrors, 0, file: file, line: line)
    XCTAssertEqual(r.corruptStreams, 0, file: file, line: line)
    for p in r.pairs {
      XCTAssertEqual(p.sent, perSender, "pair \(p.pairID) sent", file: file, line: line)
      XCTAssertEqual(p.received, perSender, "pair \(p.pairID) received", file: file, line: line)
    }
    XCTAssertEqual(r.receivedBytesTotal, UInt64(r.pairs.count) * perSender * UInt64(messageBytes), file: file, line: line)
    XCTAssertEqual(r.lossPercent, 0, file: file, line: line)
  }

  func testPacedKnownTrafficIsCountedExactly() throws {
    let relay = try BenchRelay()
    let r = try ThroughputCommand.measure(config(port: relay.port, pairs: 2, rateMbps: 50), messagesPerSender: 500)
    assertExact(r, perSender: 500, messageBytes: 1400)
    XCTAssertEqual(r.connectedPeers, 4)
  }

  /// Paced TLS runs on one writer and one reader thread for all pairs: every
  /// message still arrives and is counted once.
  func testPacedTLSKnownTrafficIsCountedExactly() throws {
    let relay = try BenchRelay(tls: true)
    var c = config(port: relay.port, pairs: 3, rateMbps: 30)
    c.tls = true
    let r = try ThroughputCommand.measure(c, messagesPerSender: 400)
    assertExact(r, perSender: 400, messageBytes: 1400)
    XCTAssertEqual(r.engine, "threads+tls")
  }

  /// Unpaced, the relay may drop when a destination queue overflows (its
  /// policy, not a counting error): the generator's counts must then equal
  /// the relay's own counters exactly, message for message.
  func testUnpacedCountsAgreeWithTheRelaysCounters() throws {
    let relay = try BenchRelay()
    let before = relay.relay.statsSnapshot()
    var c = config(port: relay.port, pairs: 3, rateMbps: 0, messageBytes: 100)
    c.drainSeconds = 1
    let r = try ThroughputCommand.measure(c, messagesPerSender: 3000)
    let after = relay.relay.statsSnapshot()
    XCTAssertEqual(r.sendErrors, 0)
    XCTAssertEqual(r.corruptStreams, 0)
    XCTAssertEqual(r.sent, 9000)
    XCTAssertEqual(after.packetsReceived - before.packetsReceived, r.sent, "relay received what we sent")
    XCTAssertEqual(after.packetsSent - before.packetsSent, r.received, "we counted what the relay delivered")
    XCTAssertEqual(r.receivedBytesTotal, r.received * 100)
  }

  func testConnectionRateEngineRegistersEveryPeer() throws {
    let relay = try BenchRelay()
    let engine = try HandshakeEngine(host: "127.0.0.1", port: relay.port, count: 40, concurrency: 40, timeoutSeconds: 30)
    _ = engine.run()
    XCTAssertEqual(engine.registered, 40, engine.firstError ?? "")
    XCTAssertEqual(engine.failed, 0)
    XCTAssertEqual(engine.handshakeSeconds.count, 40)
    engine.closeAll()
  }

  func testLatencyPingEchoCollectsEverySample() throws {
    let relay = try BenchRelay()
    var s = LatencyCommand.Settings()
    s.port = relay.port
    s.count = 200
    s.warmup = 20
    let r = try LatencyCommand.measure(s)
    XCTAssertEqual(r.samples.totalCount, 200)
    XCTAssertEqual(r.timeouts, 0)
    XCTAssertGreaterThan(r.samples.valueAtPercentile(50), 0)
  }
}
