// `hd-bench throughput`: connect peers, drive pairs, report like the C++
// derp-scale-test plus in-window goodput and relay/generator CPU cost.
import HDClient
import Synchronization

enum ThroughputCommand {
  static let valueOptions: Set<String> = ["host", "port", "peers", "pairs", "msg-size", "rate-mbps", "duration", "warmup",
                                          "drain", "batch", "jitter", "start-delay", "relay-pid", "output", "label", "count", "runs",
                                          "receiver-port", "relay2-pid"]
  static let flagOptions: Set<String> = ["tls", "json"]

  static let usage = """
    hd-bench throughput [--host H] [--port P] [--peers N] [--pairs K] [--msg-size B] [--rate-mbps R|0]
                        [--duration S] [--warmup S] [--drain S] [--batch F] [--jitter PCT] [--count M] [--tls]
                        [--relay-pid PID] [--runs N] [--label NAME] [--json] [--output FILE]
                        [--receiver-port P2 --relay2-pid PID2]   (receivers on another relay of the region)
      Peers 2i send to 2i+1. --rate-mbps is the aggregate offered packet rate (0 = unpaced).
      --batch F writes at most F frames per write (1 = one frame per write, like Tailscale's client).
      --jitter PCT gives each paced sender its own schedule: random start, gaps ±PCT % of the mean.
      --count M stops each sender after M messages (exact known traffic).
      --start-delay S waits S seconds between connecting and sending (a profiler can start counting then).
      --runs N repeats the run with fresh peers; JSON adds mean, SD, 95 % CI and CV over the runs.
    """

  static func parse(_ args: [String]) throws(BenchError) -> (ThroughputConfig, UInt64?, Bool, String?) {
    let (c, count, json, output, _) = try parseWithRuns(args)
    return (c, count, json, output)
  }

  static func parseWithRuns(_ args: [String]) throws(BenchError) -> (ThroughputConfig, UInt64?, Bool, String?, Int) {
    let a = try Arguments(args, valueOptions: valueOptions, flagOptions: flagOptions)
    var c = ThroughputConfig()
    c.host = a.string("host", c.host)
    c.port = UInt16(try a.int("port", Int(c.port), range: 1...65535))
    c.pairs = try a.int("pairs", c.pairs, range: 1...5000)
    c.peers = try a.int("peers", max(c.peers, 2 * c.pairs), range: 2...20000)
    guard c.peers >= 2 * c.pairs else { throw .usage("--peers must be at least 2 × --pairs") }
    c.messageBytes = try a.int("msg-size", c.messageBytes, range: 0...65536)
    c.rateMbps = try a.double("rate-mbps", c.rateMbps, range: 0...1_000_000)
    c.durationSeconds = try a.double("duration", c.durationSeconds, range: 0.1...3600)
    c.warmupSeconds = try a.double("warmup", c.warmupSeconds, range: 0...600)
    c.drainSeconds = try a.double("drain", c.drainSeconds, range: 0...60)
    c.batchFrames = try a.int("batch", c.batchFrames, range: 1...1024)
    c.jitterPercent = try a.double("jitter", 0, range: 0...100)
    guard c.jitterPercent == 0 || c.rateMbps > 0 else { throw .usage("--jitter needs a paced run (--rate-mbps > 0)") }
    c.tls = a.flag("tls")
    c.startDelaySeconds = try a.double("start-delay", 0, range: 0...600)
    c.relayPID = try a.optionalInt("relay-pid", range: 1...Int(Int32.max)).map(Int32.init)
    c.receiverPort = try a.optionalInt("receiver-port", range: 1...65535).map(UInt16.init)
    c.relay2PID = try a.optionalInt("relay2-pid", range: 1...Int(Int32.max)).map(Int32.init)
    c.label = a.string("label", "")
    let count = try a.optionalInt("count", range: 1...Int.max).map(UInt64.init)
    let runs = try a.int("runs", 1, range: 1...100)
    return (c, count, a.flag("json") || a.values["output"] != nil, a.values["output"], runs)
  }

  static func run(_ args: [String]) throws(BenchError) {
    let (config, count, json, output, runs) = try parseWithRuns(args)
    var results: [ThroughputResult] = []
    for run in 0..<runs {
      if runs > 1 { Output.log("run \(run + 1)/\(runs)") }
      let result = try measure(config, messagesPerSender: count)
      printSummary(result)
      results.append(result)
      // Let the relay settle (closed peers, drained queues) between runs.
      if run + 1 < runs { MonoClock.sleep(seconds: 1) }
    }
    if json { try Output.emit(runsJSON(results), path: output) }
  }

  /// One result, or the last of several with statistics over all of them.
  static func statsFields(_ name: String, _ values: [Double], _ decimals: Int) -> [(String, JSONOut)] {
    let s = RunStatistics(values)
    let out: [(String, JSONOut)] = [
      (name + "_mean", JSONOut.number(s.mean, decimals: decimals)),
      (name + "_sd", JSONOut.number(s.standardDeviation, decimals: decimals)),
      (name + "_ci95", JSONOut.number(s.confidence95, decimals: decimals)),
      (name + "_cv_pct", JSONOut.number(s.coefficientOfVariationPercent, decimals: 2)),
    ]
    return out
  }

  static func runsJSON(_ results: [ThroughputResult]) -> JSONOut {
    let last: JSONOut = toJSON(results[results.count - 1])
    guard results.count > 1 else { return last }
    var fields: [(String, JSONOut)]
    switch last {
    case .object(let f): fields = f
    default: return last
    }
    var extra: [(String, JSONOut)] = [("runs", .int(Int64(results.count)))]
    extra += statsFields("goodput_mbps", results.map { $0.goodputMbps }, 1)
    extra += statsFields("throughput_mbps", results.map { $0.drainInclusiveMbps }, 1)
    extra += statsFields("message_loss_pct", results.map { $0.lossPercent }, 4)
    let perGB = results.compactMap { $0.relayCPUSecondsPerGB }
    if perGB.count == results.count { extra += statsFields("relay_cpu_sec_per_gb", perGB, 3) }
    let perGB2 = results.compactMap { $0.relay2CPUSecondsPerGB }
    if !perGB2.isEmpty && perGB2.count == results.count { extra += statsFields("relay2_cpu_sec_per_gb", perGB2, 3) }
    extra += statsFields("generator_cpu_us_per_sent_msg", results.map { $0.generatorCPUMicrosecondsPerSentMessage }, 3)
    extra.append(("per_run", .array(results.map { (r: ThroughputResult) -> JSONOut in
      JSONOut.object([("goodput_mbps", .num(r.goodputMbps, 1)), ("throughput_mbps", .num(r.drainInclusiveMbps, 1)),
               ("messages_sent", .uint(r.sent)), ("messages_recv", .uint(r.received)),
               ("message_loss_pct", .num(r.lossPercent, 4)), ("send_errors", .uint(r.sendErrors)),
               ("relay_cpu_sec_per_gb", .opt(r.relayCPUSecondsPerGB, 3))])
    })))
    // Statistics go right after the per-run identity fields, before per_pair.
    let insertAt = fields.firstIndex(where: { $0.0 == "per_pair" }) ?? fields.count
    fields.insert(contentsOf: extra, at: insertAt)
    return .object(fields)
  }

  /// Connects, runs and closes; the reusable core (tests and the latency
  /// command's background load call this).
  /// `externalStop`: `receiving` is set once traffic starts; setting `sending`
  /// ends the window early (io_uring engine only).
  static func measure(_ config: ThroughputConfig, messagesPerSender: UInt64? = nil,
                      externalStop: StopFlags? = nil) throws(BenchError) -> ThroughputResult {
    var result = ThroughputResult(config: config)
    let connectStart = MonoClock.seconds()
    let (peers, failed, firstError) = PeerSetup.connect(count: config.peers, host: config.host, port: config.port,
                                                         receiverPort: config.receiverPort, tls: config.tls)
    result.connectSeconds = MonoClock.seconds() - connectStart
    result.connectedPeers = peers.count
    result.connectFailed = failed
    defer { for p in peers where p.fd >= 0 { _ = closeFD(p.fd) } }
    guard peers.count >= 2 * config.pairs else {
      throw .failed("only \(peers.count) of \(config.peers) peers connected: \(firstError ?? "?")")
    }
    if config.startDelaySeconds > 0 {
      Output.log("connected \(peers.count) peers; traffic starts in \(JSONOut.format(config.startDelaySeconds, decimals: 1)) s")
      MonoClock.sleep(seconds: config.startDelaySeconds)
    }
    result.relayBefore = config.relayPID.flatMap { ProcessStats.sample(pid: $0) }
    result.relay2Before = config.relay2PID.flatMap { ProcessStats.sample(pid: $0) }
    let cpuBefore = ownCPUSeconds()
    if config.tls {
      result.engine = "threads+tls"
      let engine = ThreadedThroughputEngine(config: config, peers: peers, messagesPerSender: messagesPerSender)
      let outcome = engine.run()
      result.generatorCPUSeconds = ownCPUSeconds() - cpuBefore
      result.relayAfter = config.relayPID.flatMap { ProcessStats.sample(pid: $0) }
      result.relay2After = config.relay2PID.flatMap { ProcessStats.sample(pid: $0) }
      fill(&result, outcome: outcome, pairs: engine.pairResults(), sendErrors: engine.sendErrors,
           bytes: engine.receivedBytesTotal, corrupt: engine.corruptStreams, other: engine.otherFrames)
    } else {
      let engine = try UringThroughputEngine(config: config, peers: peers, messagesPerSender: messagesPerSender)
      engine.externalStop = externalStop
      externalStop?.receiving.store(true, ordering: .relaxed)
      let outcome = engine.run()
      result.generatorCPUSeconds = ownCPUSeconds() - cpuBefore
      result.relayAfter = config.relayPID.flatMap { ProcessStats.sample(pid: $0) }
      result.relay2After = config.relay2PID.flatMap { ProcessStats.sample(pid: $0) }
      fill(&result, outcome: outcome, pairs: engine.pairResults(), sendErrors: engine.sendErrors,
           bytes: engine.receivedBytesTotal, corrupt: engine.corruptStreams, other: engine.otherFrames)
    }
    return result
  }

  static func fill(_ r: inout ThroughputResult, outcome: UringThroughputEngine.Outcome, pairs: [PairResult],
                   sendErrors: UInt64, bytes: UInt64, corrupt: Int, other: UInt64) {
    r.pairs = pairs
    r.sendErrors = sendErrors
    r.receivedBytesTotal = bytes
    r.sendingSeconds = outcome.sendingSeconds
    r.windowSeconds = outcome.windowSeconds
    r.drainedSeconds = outcome.drainedSeconds
    r.writesOffTick = outcome.writesOffTick
    r.corruptStreams = corrupt
    r.otherFrames = other
  }

  static func printSummary(_ r: ThroughputResult) {
    let c = r.config
    Output.log("throughput: \(r.connectedPeers) peers, \(c.pairs) pairs, \(c.messageBytes) B, "
      + (c.rateMbps > 0 ? "\(JSONOut.format(c.rateMbps, decimals: 0)) Mbit/s offered" : "unpaced")
      + (c.tls ? ", TLS" : ", plain TCP"))
    Output.log("  sent \(r.sent)  received \(r.received)  loss \(JSONOut.format(r.lossPercent, decimals: 4)) %  send errors \(r.sendErrors)")
    Output.log("  goodput \(JSONOut.format(r.goodputMbps, decimals: 1)) Mbit/s in a \(JSONOut.format(r.windowSeconds, decimals: 2)) s window"
      + "  (drain-inclusive \(JSONOut.format(r.drainInclusiveMbps, decimals: 1)))")
    if let perGB = r.relayCPUSecondsPerGB, let perMsg = r.relayCPUMicrosecondsPerMessage,
      let perSent = r.relayCPUMicrosecondsPerSentMessage
    {
      Output.log("  relay CPU \(JSONOut.format(perGB, decimals: 3)) s/GB, \(JSONOut.format(perMsg, decimals: 3)) µs/delivered msg,"
        + " \(JSONOut.format(perSent, decimals: 3)) µs/sent msg; generator \(JSONOut.format(r.generatorCPUMicrosecondsPerMessage, decimals: 3))"
        + " / \(JSONOut.format(r.generatorCPUMicrosecondsPerSentMessage, decimals: 3))")
    } else {
      Output.log("  generator CPU \(JSONOut.format(r.generatorCPUMicrosecondsPerMessage, decimals: 3)) µs/msg")
    }
  }

  static func toJSON(_ r: ThroughputResult) -> JSONOut {
    let c = r.config
    var fields: [(String, JSONOut)] = [
      ("test", .string("throughput")),
      ("timestamp", .string(isoTimestamp())),
      ("relay", .string(c.label.isEmpty ? "hyper-derp" : c.label)),
      ("engine", .string(r.engine)),
      ("tls", .bool(c.tls)),
      ("total_peers", .int(Int64(c.peers))),
      ("connected_peers", .int(Int64(r.connectedPeers))),
      ("connect_failed", .int(Int64(r.connectFailed))),
      ("connect_time_ms", .num(r.connectSeconds * 1000, 1)),
      ("active_pairs", .int(Int64(c.pairs))),
      ("duration_sec", .num(c.durationSeconds, 1)),
      ("warmup_sec", .num(c.warmupSeconds, 1)),
      ("message_size", .int(Int64(c.messageBytes))),
      ("rate_mbps", .num(c.rateMbps, 1)),
      ("batch_frames", .int(Int64(c.batchFrames))),
      ("jitter_pct", .num(c.jitterPercent, 1)),
      ("messages_sent", .uint(r.sent)),
      ("messages_recv", .uint(r.received)),
      ("message_loss_pct", .num(r.lossPercent, 4)),
      ("send_errors", .uint(r.sendErrors)),
      ("throughput_mbps", .num(r.drainInclusiveMbps, 1)),
      ("goodput_mbps", .num(r.goodputMbps, 1)),
      ("window_sec", .num(r.windowSeconds, 3)),
      ("sending_sec", .num(r.sendingSeconds, 3)),
      ("drain_sec", .num(r.drainedSeconds, 3)),
      ("messages_sent_window", .uint(r.sentInWindow)),
      ("messages_recv_window", .uint(r.receivedInWindow)),
      ("offered_achieved_mbps", .num(r.windowSeconds > 0
        ? Double(r.sentInWindow) * Double(c.messageBytes) * 8 / 1e6 / r.windowSeconds : 0, 1)),
      ("generator_writes_off_tick", .uint(r.writesOffTick)),
      ("corrupt_streams", .int(Int64(r.corruptStreams))),
      ("generator_cpu_sec", .num(r.generatorCPUSeconds, 3)),
      ("generator_cpu_us_per_msg", .num(r.generatorCPUMicrosecondsPerMessage, 3)),
      ("generator_cpu_us_per_sent_msg", .num(r.generatorCPUMicrosecondsPerSentMessage, 3)),
    ]
    if let pid = c.relayPID {
      fields += [
        ("relay_pid", .int(Int64(pid))),
        ("relay_cpu_sec", .opt(r.relayCPUSeconds, 3)),
        ("relay_cpu_sec_per_gb", .opt(r.relayCPUSecondsPerGB, 3)),
        ("relay2_cpu_sec_per_gb", .opt(r.relay2CPUSecondsPerGB, 3)),
        ("relay_cpu_system_pct", .opt(r.relaySystemPercent, 1)),
        ("relay_cpu_us_per_msg", .opt(r.relayCPUMicrosecondsPerMessage, 3)),
        ("relay_cpu_us_per_sent_msg", .opt(r.relayCPUMicrosecondsPerSentMessage, 3)),
        ("relay_rss_bytes", r.relayAfter.map { .uint($0.rssBytes) } ?? .null),
      ]
    }
    fields.append(("per_pair", .array(r.pairs.map { p in
      .object([
        ("pair_id", .int(Int64(p.pairID))),
        ("sender_id", .int(Int64(p.senderID))),
        ("receiver_id", .int(Int64(p.receiverID))),
        ("messages_sent", .uint(p.sent)),
        ("messages_recv", .uint(p.received)),
        ("throughput_mbps", .num(r.windowSeconds > 0 ? Double(p.receivedBytesInWindow) * 8 / 1e6 / r.windowSeconds : 0, 1)),
        ("loss_pct", .num(p.sent == 0 ? 0 : 100 * (1 - Double(p.received) / Double(p.sent)), 4)),
      ])
    })))
    return .object(fields)
  }
}

@inline(__always)
func closeFD(_ fd: Int32) -> Int32 { Glibc.close(fd) }

#if canImport(Glibc)
@preconcurrency import Glibc
#endif
