// `hd-bench scrape`: GETs /metrics at a fixed rate on one keep-alive
// connection, like a Prometheus server scraping the relay during a benchmark
// (issue 5). `--placebo` keeps the same wake-ups without any request: on a
// 2-core box any extra process waking at 10 Hz shifts the generator/relay
// interplay, so "scrape vs placebo" isolates the cost of the scrape itself.
@preconcurrency import Glibc

enum ScrapeCommand {
  static let valueOptions: Set<String> = ["host", "port", "hz", "duration", "output", "label"]
  static let flagOptions: Set<String> = ["placebo", "json"]
  static let usage = """
    hd-bench scrape --port P [--host H] [--hz N] [--duration S] [--placebo] [--label NAME] [--json] [--output FILE]
      GET /metrics N times a second (default 10) for S seconds on one keep-alive connection;
      counts scrapes done and failed, and the scrape time p50/max. --placebo wakes as often without requesting.
    """

  static func run(_ args: [String]) throws(BenchError) {
    let a = try Arguments(args, valueOptions: valueOptions, flagOptions: flagOptions)
    let host = a.string("host", "127.0.0.1")
    guard a.values["port"] != nil else { throw .usage("--port (the relay's metrics port) is required") }
    let port = UInt16(try a.int("port", 0, range: 1...65535))
    let hz = try a.double("hz", 10, range: 0.1...1000)
    let duration = try a.double("duration", 10, range: 0.1...3600)
    let placebo = a.flag("placebo")

    var scraper = MetricsScraper(host: host, port: port)
    var done = 0
    var failed = 0
    var bodyBytes = 0
    var firstError: String?
    var scrapeNanos: [Int64] = []
    let periodNanos = Int64(1e9 / hz)
    let start = MonoClock.nanoseconds()
    let end = start + Int64(duration * 1e9)
    var next = start
    while next < end {
      if !placebo {
        let t0 = MonoClock.nanoseconds()
        switch scraper.scrape() {
        case .success(let bytes):
          done += 1
          bodyBytes = bytes
          scrapeNanos.append(MonoClock.nanoseconds() - t0)
        case .failure(let error):
          failed += 1
          if firstError == nil { firstError = error.description }
          scraper.close()  // reconnect on the next tick
        }
      }
      next += periodNanos
      MonoClock.sleep(seconds: Double(next - MonoClock.nanoseconds()) / 1e9)
    }
    scraper.close()
    scrapeNanos.sort()
    let p50 = scrapeNanos.isEmpty ? nil : Double(scrapeNanos[scrapeNanos.count / 2]) / 1e6
    let maxMs = scrapeNanos.last.map { Double($0) / 1e6 }
    Output.log("scrape\(placebo ? " (placebo)" : ""): \(done) done, \(failed) failed"
      + (p50.map { ", p50 \(JSONOut.format($0, decimals: 2)) ms" } ?? "") + (firstError.map { ": \($0)" } ?? ""))
    let json = JSONOut.object([
      ("test", .string("scrape")),
      ("label", .string(a.string("label", ""))),
      ("timestamp", .string(isoTimestamp())),
      ("placebo", .bool(placebo)),
      ("hz", .num(hz, 1)),
      ("seconds", .num(duration, 1)),
      ("scrapes_done", .int(Int64(done))),
      ("scrapes_failed", .int(Int64(failed))),
      ("body_bytes", .int(Int64(bodyBytes))),
      ("scrape_ms_p50", .opt(p50, 3)),
      ("scrape_ms_max", .opt(maxMs, 3)),
      ("first_error", firstError.map { .string($0) } ?? .null),
    ])
    if a.flag("json") || a.values["output"] != nil { try Output.emit(json, path: a.values["output"]) }
    if !placebo && done == 0 { throw .failed("no scrape succeeded" + (firstError.map { ": \($0)" } ?? "")) }
  }
}
