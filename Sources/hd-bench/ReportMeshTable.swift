// The cross-relay rows (bench.sh section `mesh`): two relays of one region
// meshed on loopback, a client on relay 1 sending to a client on relay 2,
// beside the same load with both clients on relay 1, from the same run. Its
// own block in docs/benchmarks.md, so `BENCH_ONLY=mesh` refreshes it without
// touching the main table.
enum ReportMeshTable {
  static let beginMarker = "<!-- bench:mesh:begin -->"
  static let endMarker = "<!-- bench:mesh:end -->"
  static let prefix = "mesh-"

  static func isMesh(_ name: String) -> Bool { name.hasPrefix(prefix) }

  static func render(_ results: [(String, ReportCommand.Fields)]) -> String {
    typealias R = ReportCommand
    var out = ""
    if let meta = results.first(where: { $0.0 == "suite" })?.1 {
      out += "Run: \(R.text(R.field(meta, "timestamp"))), commit `\(R.text(R.field(meta, "commit")))`, "
        + "\(R.text(R.field(meta, "host"))).\n\n"
    }
    let throughput = results.filter { isMesh($0.0) && R.text(R.field($0.1, "test")) == "throughput" }
    if !throughput.isEmpty {
      out += "| run | path | offered Mbit/s | goodput Mbit/s | loss % | relay 1 CPU s/GB | relay 2 CPU s/GB |\n"
      out += "|---|---|---:|---:|---:|---:|---:|\n"
      for (name, f) in throughput {
        let rate = R.double(R.field(f, "rate_mbps")) ?? 0
        let cross = R.field(f, "relay2_cpu_sec_per_gb").map(R.text) ?? "null"
        out += "| \(name) | \(R.text(R.field(f, "relay"))) | \(rate == 0 ? "unpaced" : JSONOut.format(rate, decimals: 0)) | "
          + "\(R.withCI(f, "goodput_mbps")) | \(R.withCI(f, "message_loss_pct")) | \(R.withCI(f, "relay_cpu_sec_per_gb")) | "
          + "\(cross == "null" ? "— (idle)" : R.withCI(f, "relay2_cpu_sec_per_gb")) |\n"
      }
      out += "\n"
    }
    let latency = results.filter { isMesh($0.0) && R.text(R.field($0.1, "test")) == "latency" }
    if !latency.isEmpty {
      out += "64 B ping/echo (µs; a cross-relay sample crosses the mesh twice):\n\n"
      out += "| run | path | samples | timeouts | p50 | p90 | p99 | p99.9 | max |\n"
      out += "|---|---|---:|---:|---:|---:|---:|---:|---:|\n"
      for (name, f) in latency {
        out += "| \(name) | \(R.text(R.field(f, "relay"))) | \(R.text(R.field(f, "latency_ns", "samples"))) | "
          + "\(R.text(R.field(f, "timeouts"))) | \(R.microseconds(R.field(f, "latency_ns", "p50"))) | "
          + "\(R.microseconds(R.field(f, "latency_ns", "p90"))) | \(R.microseconds(R.field(f, "latency_ns", "p99"))) | "
          + "\(R.microseconds(R.field(f, "latency_ns", "p999"))) | \(R.microseconds(R.field(f, "latency_ns", "max"))) |\n"
      }
      out += "\n"
    }
    return out
  }
}
