import HDClient
import HDProtocol
import HDRelay
import XCTest
@testable import hd_bench

/// Issue 15's load shapes: one frame per write, many jittered senders, and the
/// report's ratios to the copy floor.
final class ProductionShapeTests: XCTestCase {
  func config(port: UInt16, pairs: Int, rateMbps: Double) -> ThroughputConfig {
    var c = ThroughputConfig()
    c.port = port
    c.pairs = pairs
    c.peers = 2 * pairs
    c.rateMbps = rateMbps
    c.batchFrames = 1
    c.warmupSeconds = 0.1
    c.durationSeconds = 10
    c.drainSeconds = 5
    return c
  }

  func assertExact(_ r: ThroughputResult, perSender: UInt64, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(r.sendErrors, 0, file: file, line: line)
    XCTAssertEqual(r.corruptStreams, 0, file: file, line: line)
    for p in r.pairs {
      XCTAssertEqual(p.sent, perSender, "pair \(p.pairID) sent", file: file, line: line)
      XCTAssertEqual(p.received, perSender, "pair \(p.pairID) received", file: file, line: line)
    }
    XCTAssertEqual(r.receivedBytesTotal, UInt64(r.pairs.count) * perSender * 1400, file: file, line: line)
  }

  /// One frame per write, paced at ~1.8 frames per sender per 0.2 ms tick:
  /// the engine posts again as sends complete (more than one write per
  /// tick), and every frame still arrives exactly once, in order. Writes off
  /// the tick were 0 when the backlog check used the one-batch-ahead
  /// allowance: each sender then wrote one frame per tick, ~56 % of the rate.
  func testOneFramePerWritePacedDeliversEverything() throws {
    let relay = try BenchRelay()
    let before = relay.relay.statsSnapshot()
    let r = try ThroughputCommand.measure(config(port: relay.port, pairs: 2, rateMbps: 200), messagesPerSender: 3000)
    assertExact(r, perSender: 3000)
    XCTAssertEqual(after(relay).packetsReceived - before.packetsReceived, 6000)
    XCTAssertGreaterThan(r.writesOffTick, 0, "one-frame senders never caught up between ticks")
  }

  /// Many jittered senders, one frame per write: every frame arrives once.
  func testManyJitteredSendersAreCountedExactly() throws {
    let relay = try BenchRelay()
    var c = config(port: relay.port, pairs: 60, rateMbps: 60)
    c.jitterPercent = 50
    let r = try ThroughputCommand.measure(c, messagesPerSender: 40)
    assertExact(r, perSender: 40)
    XCTAssertEqual(r.connectedPeers, 120)
  }

  func testManyJitteredTLSSendersOneFramePerWriteAreCountedExactly() throws {
    let relay = try BenchRelay(tls: true)
    var c = config(port: relay.port, pairs: 20, rateMbps: 40)
    c.tls = true
    c.jitterPercent = 50
    let r = try ThroughputCommand.measure(c, messagesPerSender: 60)
    assertExact(r, perSender: 60)
  }

  /// The schedule keeps the mean rate: after N gaps, about N frames are due
  /// whatever the jitter, and the first frame comes within the first gap.
  func testJitterScheduleKeepsTheMeanRate() {
    var random = BenchRandom(seed: 42)
    var s = JitterSchedule(start: 0, gapNanoseconds: 1000, random: &random)
    XCTAssertLessThan(s.nextNanoseconds, 1000)
    s.advance(to: 1_000_000, gapNanoseconds: 1000, jitter: 0.5, random: &random)
    XCTAssertGreaterThan(s.due, 950)
    XCTAssertLessThan(s.due, 1050)
    var lockstep = JitterSchedule(start: 0, gapNanoseconds: 1000, random: &random)
    let first = lockstep.nextNanoseconds
    lockstep.advance(to: first + 9999, gapNanoseconds: 1000, jitter: 0, random: &random)
    XCTAssertEqual(lockstep.due, 10)
  }

  func testJitterNeedsAPacedRun() {
    XCTAssertThrowsError(try ThroughputCommand.parse(["--jitter", "20"]))
    XCTAssertNoThrow(try ThroughputCommand.parse(["--jitter", "20", "--rate-mbps", "100", "--batch", "1"]))
  }

  func testFloorTableDividesByTheCopyFloorAndAddsTwoAESPassesForTLS() {
    typealias T = ScrapeAndCostReportTests
    let results: [(String, ReportCommand.Fields)] = [
      ("floor", T.fields(#"{"test":"floor","sender_cpu_pct":50.0,"receiver_cpu_pct":45.0,"cpu_sec_per_gb":0.5}"#)),
      ("openssl-speed", T.fields(#"{"test":"openssl-speed","bytes_per_sec_1024":1000000000,"bytes_per_sec_16384":4000000000}"#)),
      ("tcp-1w-unpaced", T.fields(#"{"test":"throughput","runs":3,"goodput_mbps_mean":8000.0,"relay_cpu_sec_per_gb_mean":0.9,"message_loss_pct":0.0,"relay_cpu_system_pct":70.0}"#)),
      ("prod-tcp-1w-b1j-rate01000", T.fields(#"{"test":"throughput","active_pairs":10,"rate_mbps":1000.0,"goodput_mbps":1000.0,"relay_cpu_sec_per_gb":1.0}"#)),
      ("prod-tcp-1w-many-rate01000", T.fields(#"{"test":"throughput","active_pairs":1000,"rate_mbps":1000.0,"goodput_mbps":1000.0,"relay_cpu_sec_per_gb":1.2}"#)),
      ("prod-tls-1w-b1-unpaced", T.fields(#"{"test":"throughput","rate_mbps":0.0,"goodput_mbps":3000.0,"relay_cpu_sec_per_gb":1.5}"#)),
    ]
    let table = ReportFloorTable.render(results)
    XCTAssertTrue(table.contains("= **0.500 CPU-s/GB**; two AES-128-GCM passes at 16 KiB (`openssl speed`) add 0.500 = **1.000** for TLS"), table)
    XCTAssertTrue(table.contains("| tcp-1w-unpaced | plain TCP, 32 frames/write, 10 pairs, unpaced | 8000.0 | 0.0 | 0.900 | 70.0 | — | — | 0.500 | **1.80** | ≤ 1.5 |"), table)
    XCTAssertTrue(table.contains("| prod-tls-1w-b1-unpaced | userspace TLS, 1 frame/write, 10 pairs, unpaced | 3000.0 |"), table)
    XCTAssertTrue(table.contains("| 1.000 | **1.50** | ≤ 1.7 |"), table)
    XCTAssertTrue(table.contains("| prod-tcp-1w-many-rate01000 | plain TCP, 1 frame/write, many pairs, paced, jitter, 1000 Mbit/s offered |"), table)
    XCTAssertTrue(table.contains("Plain TCP: 1000 pairs cost **1.20×** the relay CPU per GB of 10 pairs"), table)
    var sampled = results
    sampled[0] = ("floor", T.fields(#"{"test":"floor","sender_cpu_pct":50.0,"receiver_cpu_pct":45.0,"cpu_sec_per_gb":0.5,"sample_count":3,"samples_cpu_sec_per_gb":"0.450 0.500 0.660"}"#))
    XCTAssertTrue(ReportFloorTable.render(sampled).contains(
      "128 KiB writes, median of 3 samples spread over the run (0.450, 0.500, 0.660 CPU-s/GB); that one: sender 50.0 % + receiver 45.0 % of a core = **0.500 CPU-s/GB**"))
    var short = results
    short[3] = ("prod-tcp-1w-b1j-rate01000", T.fields(#"{"test":"throughput","active_pairs":10,"rate_mbps":1000.0,"goodput_mbps":558.7,"relay_cpu_sec_per_gb":1.0}"#))
    XCTAssertTrue(ReportFloorTable.render(short).contains("paced, jitter, 1000 Mbit/s offered (not reached) | 558.7 |"))
  }

  private func after(_ relay: BenchRelay) -> RelayStatsSnapshot { relay.relay.statsSnapshot() }
}
