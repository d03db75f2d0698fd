// `hd-bench report`: reads the suite's JSON results and rewrites the results
// section of docs/benchmarks.md (between the bench:begin/bench:end markers),
// so the document always shows the numbers of the last `make bench`.
@preconcurrency import Glibc
import HDProtocol

enum ReportCommand {
  static let valueOptions: Set<String> = ["results", "doc"]
  static let usage = """
    hd-bench report --results DIR --doc FILE
      Regenerates the table between <!-- bench:begin --> and <!-- bench:end --> in FILE from DIR/*.json.
    """
  static let beginMarker = "<!-- bench:begin -->"
  static let endMarker = "<!-- bench:end -->"

  static func run(_ args: [String]) throws(BenchError) {
    let a = try Arguments(args, valueOptions: valueOptions, flagOptions: [])
    guard let dir = a.values["results"], let doc = a.values["doc"] else { throw .usage("--results and --doc are required") }
    let results = try loadResults(dir)
    guard let text = ProcessStats.readFile(doc) else { throw .failed("cannot read \(doc)") }
    // The main block from the main rows, the mesh block from the mesh rows;
    // a run that has only one kind (BENCH_ONLY) leaves the other block alone.
    let meshRows = results.filter { ReportMeshTable.isMesh($0.0) }
    let mainRows = results.filter { !ReportMeshTable.isMesh($0.0) }
    var updated = text
    if mainRows.contains(where: { $0.0 != "suite" }) {
      updated = try replaceBlock(updated, doc: doc, begin: beginMarker, end: endMarker, with: render(mainRows))
    }
    if !meshRows.isEmpty {
      let suite = results.filter { $0.0 == "suite" }
      updated = try replaceBlock(updated, doc: doc, begin: ReportMeshTable.beginMarker, end: ReportMeshTable.endMarker,
                                 with: ReportMeshTable.render(suite + meshRows))
    }
    try Output.emitText(updated, path: doc)
    Output.log("report: \(results.count) result files → \(doc)")
  }

  private static func replaceBlock(_ text: String, doc: String, begin: String, end: String, with body: String)
    throws(BenchError) -> String
  {
    guard let b = text.firstRange(of: begin), let e = text.firstRange(of: end), b.upperBound <= e.lowerBound else {
      throw .failed("\(doc) lacks the \(begin) … \(end) markers")
    }
    return String(text[..<b.upperBound]) + "\n" + body + String(text[e.lowerBound...])
  }

  typealias Fields = [(String, JSONValue)]

  static func loadResults(_ dir: String) throws(BenchError) -> [(String, Fields)] {
    guard let d = opendir(dir) else { throw .system("opendir \(dir)", errno) }
    defer { closedir(d) }
    var names: [String] = []
    while let entry = readdir(d) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
      }
      if name.hasSuffix(".json") { names.append(name) }
    }
    var out: [(String, Fields)] = []
    for name in names.sorted() {
      guard let text = ProcessStats.readFile(dir + "/" + name),
        case .object(let fields)? = try? JSONValue.parse(Array(text.utf8))
      else { continue }
      out.append((String(name.dropLast(5)), fields))
    }
    return out
  }

  static func field(_ f: Fields, _ path: String...) -> JSONValue? {
    var current: JSONValue = .object(f)
    for key in path {
      guard case .object(let fields) = current, let next = fields.first(where: { $0.0 == key })?.1 else { return nil }
      current = next
    }
    return current
  }

  static func text(_ v: JSONValue?) -> String {
    switch v {
    case .number(let n)?: return n
    case .string(let s)?: return s
    case .bool(let b)?: return b ? "yes" : "no"
    default: return "—"
    }
  }

  static func double(_ v: JSONValue?) -> Double? {
    if case .number(let n)? = v { return Double(n) }
    return nil
  }

  /// `mean ± ci95 (n)` when the run was repeated, else the single value.
  static func withCI(_ f: Fields, _ name: String) -> String {
    guard let runs = field(f, "runs"), case .number(let n) = runs else { return text(field(f, name)) }
    return "\(text(field(f, name + "_mean"))) ± \(text(field(f, name + "_ci95"))) (n=\(n))"
  }

  /// The mean of a repeated run, else the single run's value.
  static func meanOrSingle(_ f: Fields, _ name: String) -> Double? {
    double(field(f, name + "_mean")) ?? double(field(f, name))
  }

  static func microseconds(_ v: JSONValue?) -> String {
    guard let ns = double(v) else { return "—" }
    return JSONOut.format(ns / 1000, decimals: 0)
  }

  static func render(_ results: [(String, Fields)]) -> String {
    var out = ""
    let meta = results.first(where: { $0.0 == "suite" })?.1
    if let meta {
      out += "Run: \(text(field(meta, "timestamp"))), commit `\(text(field(meta, "commit")))`, \(text(field(meta, "host"))); "
        + "suite took \(text(field(meta, "suite_seconds"))) s"
        + (field(meta, "loadavg_start") == nil ? "" : "; 1-minute load average \(text(field(meta, "loadavg_start"))) at the start, "
          + "\(text(field(meta, "loadavg_end"))) at the end (other work on the machine)")
        + ".\n\n"
    }
    let ceiling = CeilingRatio(results)
    if let iperf = results.first(where: { $0.0 == "iperf3" })?.1 {
      out += "Loopback ceiling (iperf3, one stream, same run): **\(text(field(iperf, "gbps"))) Gbit/s**.\n\n"
    }
    let throughput = results.filter { text(field($0.1, "test")) == "throughput" }
    if !throughput.isEmpty {
      out += "### Throughput (\(text(field(throughput[0].1, "active_pairs"))) pairs, \(text(field(throughput[0].1, "message_size"))) B messages)\n\n"
      out += "| run | relay | offered Mbit/s | goodput Mbit/s | C++-formula Mbit/s | loss % | send errors | relay CPU s/GB"
        + " | relay µs/msg (delivered / sent) | generator µs/msg (delivered / sent) | relay RSS MB | goodput × loopback ceiling |\n"
      out += "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
      for (name, f) in throughput {
        let rate = double(field(f, "rate_mbps")) ?? 0
        let rss = double(field(f, "relay_rss_bytes")).map { JSONOut.format($0 / 1e6, decimals: 0) } ?? "—"
        out += "| \(name) | \(text(field(f, "relay"))) | \(rate == 0 ? "unpaced" : JSONOut.format(rate, decimals: 0)) | "
          + "\(withCI(f, "goodput_mbps")) | \(withCI(f, "throughput_mbps")) | \(withCI(f, "message_loss_pct")) | "
          + "\(text(field(f, "send_errors"))) | \(withCI(f, "relay_cpu_sec_per_gb")) | "
          + "\(text(field(f, "relay_cpu_us_per_msg"))) / \(text(field(f, "relay_cpu_us_per_sent_msg"))) | "
          + "\(text(field(f, "generator_cpu_us_per_msg"))) / \(text(field(f, "generator_cpu_us_per_sent_msg"))) | \(rss) | "
          + "\(ceiling.text(mbps: meanOrSingle(f, "goodput_mbps"))) |\n"
      }
      out += "\n"
    }
    out += ReportCostTables.tls(results, ceiling: ceiling)
    out += ReportFloorTable.render(results)
    out += ReportCostTables.scrape(results, ceiling: ceiling)
    let latency = results.filter { text(field($0.1, "test")) == "latency" }
    if !latency.isEmpty {
      out += "### Latency (64 B ping/echo, two relay traversals per sample; µs)\n\n"
      out += "| run | background Mbit/s offered | achieved | samples | p50 | p90 | p99 | p99.9 | max |\n"
      out += "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
      for (name, f) in latency {
        out += "| \(name) | \(text(field(f, "config", "load_mbps"))) | \(text(field(f, "background", "goodput_mbps"))) | "
          + "\(text(field(f, "latency_ns", "samples"))) | \(microseconds(field(f, "latency_ns", "p50"))) | "
          + "\(microseconds(field(f, "latency_ns", "p90"))) | \(microseconds(field(f, "latency_ns", "p99"))) | "
          + "\(microseconds(field(f, "latency_ns", "p999"))) | \(microseconds(field(f, "latency_ns", "max"))) |\n"
      }
      out += "\n"
    }
    let connrate = results.filter { text(field($0.1, "test")) == "connrate" }
    if !connrate.isEmpty {
      out += "### Connection rate (concurrent handshakes)\n\n"
      out += "| run | peers | connected | failed | time to all connected ms | conn/s | handshake p50 ms | p99 ms |\n"
      out += "|---|---:|---:|---:|---:|---:|---:|---:|\n"
      for (name, f) in connrate {
        let p50 = double(field(f, "handshake_ns", "p50")).map { JSONOut.format($0 / 1e6, decimals: 2) } ?? "—"
        let p99 = double(field(f, "handshake_ns", "p99")).map { JSONOut.format($0 / 1e6, decimals: 2) } ?? "—"
        out += "| \(name) | \(text(field(f, "total_peers"))) | \(text(field(f, "connected_peers"))) | \(text(field(f, "connect_failed"))) | "
          + "\(text(field(f, "connect_time_ms"))) | \(text(field(f, "connections_per_sec"))) | \(p50) | \(p99) |\n"
      }
      out += "\n"
    }
    let idle = results.filter { text(field($0.1, "test")) == "idle" }
    if !idle.isEmpty {
      out += "### Idle scale\n\n"
      out += "| run | peers | connected | processes | connect s | relay RSS before MB | relay RSS MB | bytes/peer | idle CPU % |\n"
      out += "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
      for (name, f) in idle {
        let before = double(field(f, "relay_rss_bytes_before")).map { JSONOut.format($0 / 1e6, decimals: 1) } ?? "—"
        let after = double(field(f, "relay_rss_bytes")).map { JSONOut.format($0 / 1e6, decimals: 1) } ?? "—"
        let seconds = double(field(f, "connect_time_ms")).map { JSONOut.format($0 / 1000, decimals: 2) } ?? "—"
        out += "| \(name) | \(text(field(f, "total_peers"))) | \(text(field(f, "connected_peers"))) | \(text(field(f, "processes"))) | "
          + "\(seconds) | \(before) | \(after) | \(text(field(f, "relay_rss_bytes_per_peer"))) | \(text(field(f, "relay_idle_cpu_pct"))) |\n"
      }
      out += "\n"
    }
    let skipped = results.filter { text(field($0.1, "test")) == "skipped" }
    for (name, f) in skipped { out += "- `\(name)` not run: \(text(field(f, "reason")))\n" }
    if !skipped.isEmpty { out += "\n" }
    return out
  }
}
