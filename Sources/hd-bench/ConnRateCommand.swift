// `hd-bench connrate`: N peers handshake concurrently (io_uring, no thread per
// connection); reports connections per second and time until all connected.
// `--hold` keeps them open afterwards (the idle-scale children use this).
@preconcurrency import Glibc
import Histogram

enum ConnRateCommand {
  static let valueOptions: Set<String> = ["host", "port", "count", "concurrency", "timeout", "hold", "relay-pid",
                                          "output", "label"]
  static let flagOptions: Set<String> = ["json", "ready-line"]

  static let usage = """
    hd-bench connrate [--host H] [--port P] [--count N] [--concurrency C] [--timeout S] [--relay-pid PID]
                      [--hold S|stdin] [--ready-line] [--label NAME] [--json] [--output FILE]
      All N handshakes are in flight at once unless --concurrency limits them.
      --hold S keeps the connections open S seconds; --hold stdin until stdin closes.
      --ready-line prints one JSON line to stdout when all are connected (idle-scale children).
    """

  struct Outcome {
    var count: Int
    var connected: Int
    var failed: Int
    var seconds: Double
    var firstError: String?
    var handshake: Histogram<UInt64>
    var relayBefore: ProcessSample?
    var relayAfter: ProcessSample?
  }

  static func run(_ args: [String]) throws(BenchError) {
    let a = try Arguments(args, valueOptions: valueOptions, flagOptions: flagOptions)
    let host = a.string("host", "127.0.0.1")
    let port = UInt16(try a.int("port", 3340, range: 1...65535))
    let count = try a.int("count", 1000, range: 1...19_000)
    let concurrency = try a.int("concurrency", count, range: 1...19_000)
    let timeout = try a.double("timeout", 60, range: 1...3600)
    let relayPID = try a.optionalInt("relay-pid", range: 1...Int(Int32.max)).map(Int32.init)
    let hold = a.string("hold", "0")
    guard hold == "stdin" || Double(hold) != nil else { throw .usage("--hold takes seconds or 'stdin'") }
    raiseFileLimit(to: count + 64)

    let before = relayPID.flatMap { ProcessStats.sample(pid: $0) }
    let engine = try HandshakeEngine(host: host, port: port, count: count, concurrency: concurrency, timeoutSeconds: timeout)
    let seconds = engine.run()
    var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000_000, numberOfSignificantValueDigits: .three)
    for s in engine.handshakeSeconds { _ = histogram.record(UInt64(max(1, s * 1e9))) }
    let outcome = Outcome(count: count, connected: engine.registered, failed: engine.failed, seconds: seconds,
                          firstError: engine.firstError, handshake: histogram, relayBefore: before,
                          relayAfter: relayPID.flatMap { ProcessStats.sample(pid: $0) })
    if a.flag("ready-line") {
      let line = toJSON(outcome, label: a.string("label", "")).render(pretty: false) + "\n"
      _ = line.withCString { fputs($0, stdout) }
      fflush(stdout)
    } else {
      Output.log("connrate: \(outcome.connected)/\(count) connected in \(JSONOut.format(seconds, decimals: 3)) s"
        + " (\(JSONOut.format(Double(outcome.connected) / max(seconds, 1e-9), decimals: 1)) conn/s), \(outcome.failed) failed"
        + (outcome.firstError.map { ": \($0)" } ?? ""))
      if a.flag("json") || a.values["output"] != nil {
        try Output.emit(toJSON(outcome, label: a.string("label", "")), path: a.values["output"])
      }
    }
    if hold == "stdin" {
      var byte: UInt8 = 0
      while read(0, &byte, 1) > 0 {}
    } else if let s = Double(hold), s > 0 {
      MonoClock.sleep(seconds: s)
    }
    engine.closeAll()
  }

  static func toJSON(_ o: Outcome, label: String) -> JSONOut {
    var fields: [(String, JSONOut)] = [
      ("test", .string("connrate")),
      ("timestamp", .string(isoTimestamp())),
      ("relay", .string(label.isEmpty ? "hyper-derp" : label)),
      ("total_peers", .int(Int64(o.count))),
      ("connected_peers", .int(Int64(o.connected))),
      ("connect_failed", .int(Int64(o.failed))),
      ("connect_time_ms", .num(o.seconds * 1000, 1)),
      ("connections_per_sec", .num(Double(o.connected) / max(o.seconds, 1e-9), 1)),
      ("handshake_ns", .object([
        ("p50", .uint(o.handshake.valueAtPercentile(50))),
        ("p90", .uint(o.handshake.valueAtPercentile(90))),
        ("p99", .uint(o.handshake.valueAtPercentile(99))),
        ("max", .uint(o.handshake.max)),
      ])),
      ("first_error", o.firstError.map { .string($0) } ?? .null),
    ]
    if let b = o.relayBefore, let a = o.relayAfter {
      fields += [("relay_cpu_sec", .num(a.cpuSeconds - b.cpuSeconds, 3)), ("relay_rss_bytes", .uint(a.rssBytes))]
    }
    return .object(fields)
  }
}

/// Raises the soft fd limit toward the hard one (20,000 here) for many sockets.
func raiseFileLimit(to wanted: Int) {
  var limit = rlimit()
  guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
  let target = min(rlim_t(wanted), limit.rlim_max)
  if limit.rlim_cur < target {
    limit.rlim_cur = target
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
  }
}
