// The cost tables of `hd-bench report`: userspace-TLS relay CPU per GB next to
// plain TCP and `openssl speed` (issue 4), and throughput with and without a
// 10 Hz metrics scrape (issue 5). Every row carries its ratio to the iperf3
// loopback ceiling of the same run.

/// Ratio of a rate to the iperf3 loopback ceiling measured in the same run.
struct CeilingRatio {
  let ceilingMbps: Double?

  init(_ results: [(String, ReportCommand.Fields)]) {
    let iperf = results.first(where: { $0.0 == "iperf3" })?.1
    ceilingMbps = iperf.flatMap { ReportCommand.double(ReportCommand.field($0, "bits_per_second")) }.map { $0 / 1e6 }
  }

  func text(mbps: Double?) -> String {
    guard let mbps, let ceilingMbps, ceilingMbps > 0 else { return "—" }
    return JSONOut.format(mbps / ceilingMbps, decimals: 3)
  }
}

enum ReportCostTables {
  typealias R = ReportCommand

  static func tls(_ results: [(String, R.Fields)], ceiling: CeilingRatio) -> String {
    let tls = results.first(where: { $0.0 == "tls-1w-unpaced" && R.text(R.field($0.1, "test")) == "throughput" })?.1
    let plain = results.first(where: { $0.0 == "tcp-1w-unpaced" && R.text(R.field($0.1, "test")) == "throughput" })?.1
    let speed = results.first(where: { R.text(R.field($0.1, "test")) == "openssl-speed" })?.1
    guard tls != nil || speed != nil else { return "" }
    var out = "### Userspace TLS relay cost vs plain TCP and `openssl speed` (issue 4, target ≤ 2.5 s/GB)\n\n"
    out += "| row | peers / pairs / message B | goodput or speed Mbit/s | × loopback ceiling | CPU s/GB | × plain TCP |\n"
    out += "|---|---|---:|---:|---:|---:|\n"
    let plainCost = plain.flatMap { R.meanOrSingle($0, "relay_cpu_sec_per_gb") }
    for (name, f) in [("tls-1w-unpaced (relay, userspace TLS)", tls), ("tcp-1w-unpaced (relay, plain TCP)", plain)] {
      guard let f else { continue }
      let cost = R.meanOrSingle(f, "relay_cpu_sec_per_gb")
      let goodput = R.meanOrSingle(f, "goodput_mbps")
      let ratio = cost.flatMap { c in plainCost.map { JSONOut.format(c / $0, decimals: 2) } } ?? "—"
      out += "| \(name) | \(R.text(R.field(f, "total_peers"))) / \(R.text(R.field(f, "active_pairs"))) / "
        + "\(R.text(R.field(f, "message_size"))) | \(goodput.map { JSONOut.format($0, decimals: 1) } ?? "—") | "
        + "\(ceiling.text(mbps: goodput)) | **\(cost.map { JSONOut.format($0, decimals: 3) } ?? "—")** | \(ratio) |\n"
    }
    if let speed {
      for block in ["1024", "16384"] {
        guard let bytesPerSec = R.double(R.field(speed, "bytes_per_sec_" + block)), bytesPerSec > 0 else { continue }
        let mbps = bytesPerSec * 8 / 1e6
        let perPass = 1e9 / bytesPerSec
        let ratio = plainCost.map { JSONOut.format(2 * perPass / $0, decimals: 2) + " (2 passes)" } ?? "—"
        out += "| openssl speed aes-128-gcm, \(block) B blocks, one core | — | \(JSONOut.format(mbps, decimals: 0)) | "
          + "\(ceiling.text(mbps: mbps)) | \(JSONOut.format(perPass, decimals: 3)) per pass, "
          + "\(JSONOut.format(2 * perPass, decimals: 3)) for 2 | \(ratio) |\n"
      }
    }
    return out + "\n"
  }

  static func scrape(_ results: [(String, R.Fields)], ceiling: CeilingRatio) -> String {
    let modes = [("placebo", "10 Hz placebo (same wake-ups, no request)"), ("10hz", "10 Hz GET /metrics")]
    let rows = modes.compactMap { mode, title -> (String, R.Fields, R.Fields?)? in
      guard let run = results.first(where: { $0.0 == "scrape-1w-" + mode && R.text(R.field($0.1, "test")) == "throughput" })?.1
      else { return nil }
      return (title, run, results.first(where: { $0.0 == "scraper-" + mode && R.text(R.field($0.1, "test")) == "scrape" })?.1)
    }
    guard !rows.isEmpty else { return "" }
    var out = "### Metrics scrape at 10 Hz during unpaced 1-worker throughput (issue 5)\n\n"
    out += "| beside the load | goodput Mbit/s | × loopback ceiling | loss % | relay CPU s/GB | scrapes done / failed | scrape p50 / max ms |\n"
    out += "|---|---:|---:|---:|---:|---:|---:|\n"
    for (title, run, scraper) in rows {
      let goodput = R.double(R.field(run, "goodput_mbps"))
      let scrapes = scraper.map { "\(R.text(R.field($0, "scrapes_done"))) / \(R.text(R.field($0, "scrapes_failed")))" } ?? "—"
      let times = scraper.map { "\(R.text(R.field($0, "scrape_ms_p50"))) / \(R.text(R.field($0, "scrape_ms_max")))" } ?? "—"
      out += "| \(title) | \(goodput.map { JSONOut.format($0, decimals: 1) } ?? "—") | \(ceiling.text(mbps: goodput)) | "
        + "\(R.text(R.field(run, "message_loss_pct"))) | \(R.text(R.field(run, "relay_cpu_sec_per_gb"))) | \(scrapes) | \(times) |\n"
    }
    if rows.count == 2 {
      let plain = results.first(where: { $0.0 == "tcp-1w-unpaced" })?.1
      out += "\nWith scraping vs placebo: goodput " + change(rows[1].1, rows[0].1, "goodput_mbps", noise: plain)
        + ", relay CPU s/GB " + change(rows[1].1, rows[0].1, "relay_cpu_sec_per_gb", noise: plain) + ".\n"
    }
    return out + "\n"
  }

  /// "+x.y %" of `field` from `base` to `run`, plus the run-to-run noise of the
  /// same load in this run (the 95 % CI of the repeated tcp-1w-unpaced runs).
  static func change(_ run: R.Fields, _ base: R.Fields, _ name: String, noise: R.Fields?) -> String {
    guard let value = R.double(R.field(run, name)), let reference = R.double(R.field(base, name)), reference > 0 else { return "—" }
    let delta = (value / reference - 1) * 100
    var out = (delta >= 0 ? "+" : "") + JSONOut.format(delta, decimals: 1) + " %"
    if let noise, let mean = R.double(R.field(noise, name + "_mean")), let ci = R.double(R.field(noise, name + "_ci95")), mean > 0 {
      out += " (noise: tcp-1w-unpaced 95 % CI ±\(JSONOut.format(ci / mean * 100, decimals: 1)) %)"
    }
    return out
  }
}
