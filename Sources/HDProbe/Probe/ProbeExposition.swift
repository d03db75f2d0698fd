// `hdctl probe --listen`: the latest results as Prometheus metrics and a small
// status page, like derpprobe's. Counters and histograms accumulate over every
// pass since the prober started; gauges describe the latest pass.
import HDConfig
import HDProtocol

/// The probe's metric names (the rules file and the dashboard are checked against these).
public enum ProbeMetricNames {
  public static let success = "hyper_derp_probe_success"
  public static let lastSuccess = "hyper_derp_probe_last_success_timestamp_seconds"
  public static let failures = "hyper_derp_probe_failures_total"
  public static let latency = "hyper_derp_probe_latency_seconds"
  public static let certificateExpiry = "hyper_derp_probe_cert_expiry_timestamp_seconds"
  public static let bandwidth = "hyper_derp_probe_bandwidth_bytes_per_second"
  public static let runs = "hyper_derp_probe_runs_total"
  public static let runDuration = "hyper_derp_probe_run_duration_seconds"
  public static let lastRun = "hyper_derp_probe_last_run_timestamp_seconds"
}

/// What the prober has seen so far; fed one report per pass.
public struct ProbeHistory: Sendable {
  public static let latencyBucketsSeconds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

  struct SeriesKey: Hashable, Comparable {
    var check: String
    var region: String
    var node: String
    var peer: String

    static func < (a: SeriesKey, b: SeriesKey) -> Bool {
      (a.check, a.region, a.node, a.peer) < (b.check, b.region, b.node, b.peer)
    }

    var labels: String {
      "check=\"\(escape(check))\",region=\"\(escape(region))\",node=\"\(escape(node))\",peer=\"\(escape(peer))\""
    }
  }

  struct Histogram {
    var buckets = [Int](repeating: 0, count: ProbeHistory.latencyBucketsSeconds.count)
    var count = 0
    var sum = 0.0
  }

  public private(set) var latest: ProbeReport?
  public private(set) var runs = 0
  var failures: [SeriesKey: Int] = [:]
  var lastSuccess: [SeriesKey: Int64] = [:]
  var latency: [SeriesKey: Histogram] = [:]

  public init() {}

  public mutating func record(_ report: ProbeReport) {
    latest = report
    runs += 1
    for check in report.checks {
      let key = SeriesKey(check: check.kind.rawValue, region: check.regionCode, node: check.node, peer: check.peer ?? "")
      failures[key, default: 0] += check.outcome == .failed ? 1 : 0
      if check.outcome == .ok { lastSuccess[key] = report.startedAtSeconds }
      guard check.kind == .packets || check.kind == .mesh || check.kind == .stun else { continue }
      var histogram = latency[key] ?? Histogram()
      for sample in check.latencySeconds {
        histogram.count += 1
        histogram.sum += sample
        for (index, bound) in Self.latencyBucketsSeconds.enumerated() where sample <= bound { histogram.buckets[index] += 1 }
      }
      latency[key] = histogram
    }
  }

  /// Prometheus text format 0.0.4.
  public func exposition() -> String {
    var out = ""
    func family(_ name: String, _ type: String, _ help: String) { out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n" }
    let checks = latest?.checks ?? []
    family(ProbeMetricNames.success, "gauge", "1 when the check passed in the latest pass, 0 when it failed (skipped checks are 0 too)")
    for check in checks {
      let key = SeriesKey(check: check.kind.rawValue, region: check.regionCode, node: check.node, peer: check.peer ?? "")
      out += "\(ProbeMetricNames.success){\(key.labels)} \(check.outcome == .ok ? 1 : 0)\n"
    }
    family(ProbeMetricNames.lastSuccess, "gauge", "Start of the latest pass in which the check passed, seconds since the epoch")
    for (key, seconds) in lastSuccess.sorted(by: { $0.key < $1.key }) { out += "\(ProbeMetricNames.lastSuccess){\(key.labels)} \(seconds)\n" }
    family(ProbeMetricNames.failures, "counter", "Passes in which the check failed")
    for (key, count) in failures.sorted(by: { $0.key < $1.key }) { out += "\(ProbeMetricNames.failures){\(key.labels)} \(count)\n" }
    family(ProbeMetricNames.latency, "histogram", "packets: round trip through one node; mesh: one-way delivery between two nodes; stun: answer time")
    for (key, histogram) in latency.sorted(by: { $0.key < $1.key }) {
      for (index, bound) in Self.latencyBucketsSeconds.enumerated() {
        out += "\(ProbeMetricNames.latency)_bucket{\(key.labels),le=\"\(bound)\"} \(histogram.buckets[index])\n"
      }
      out += "\(ProbeMetricNames.latency)_bucket{\(key.labels),le=\"+Inf\"} \(histogram.count)\n"
      out += "\(ProbeMetricNames.latency)_sum{\(key.labels)} \(histogram.sum)\n"
      out += "\(ProbeMetricNames.latency)_count{\(key.labels)} \(histogram.count)\n"
    }
    family(ProbeMetricNames.certificateExpiry, "gauge", "notAfter of the certificate the node served in the latest pass, seconds since the epoch")
    for facts in latest?.nodes ?? [] {
      guard let notAfter = facts.certificateNotAfter else { continue }
      out += "\(ProbeMetricNames.certificateExpiry){region=\"\(escape(facts.regionCode))\",node=\"\(escape(facts.node))\"} \(notAfter)\n"
    }
    family(ProbeMetricNames.bandwidth, "gauge", "Bandwidth check result of the latest pass (only with --bandwidth-bytes)")
    for facts in latest?.nodes ?? [] {
      guard let rate = facts.bandwidthBytesPerSecond else { continue }
      out += "\(ProbeMetricNames.bandwidth){region=\"\(escape(facts.regionCode))\",node=\"\(escape(facts.node))\"} \(rate)\n"
    }
    family(ProbeMetricNames.runs, "counter", "Probe passes completed")
    out += "\(ProbeMetricNames.runs) \(runs)\n"
    family(ProbeMetricNames.runDuration, "gauge", "Duration of the latest pass")
    out += "\(ProbeMetricNames.runDuration) \(latest?.durationSeconds ?? 0)\n"
    family(ProbeMetricNames.lastRun, "gauge", "Start of the latest pass, seconds since the epoch")
    out += "\(ProbeMetricNames.lastRun) \(latest?.startedAtSeconds ?? 0)\n"
    return out
  }

  /// The status page: the latest pass as an HTML table.
  public func statusPage() -> String {
    var html = "<!doctype html><html><head><meta charset=\"utf-8\"><title>hdctl probe</title>"
    html += "<style>body{font-family:sans-serif}td,th{padding:2px 8px;text-align:left}.ok{color:#080}.failed{color:#c00}.skipped{color:#888}</style>"
    html += "</head><body><h1>hdctl probe</h1>"
    guard let report = latest else { return html + "<p>no pass finished yet</p></body></html>\n" }
    html += "<p>latest pass \(UTCDate.format(report.startedAtSeconds)), \(String(format1: report.durationSeconds)) s, "
    html += report.allPassed ? "all checks passed" : "<b>\(report.failed.count) failed</b>"
    html += "; \(runs) passes so far. <a href=\"/metrics\">metrics</a></p>"
    html += "<table><tr><th>check</th><th>region</th><th>target</th><th>result</th><th>detail</th></tr>"
    for check in report.checks {
      html += "<tr><td>\(htmlEscape(check.kind.rawValue))</td><td>\(htmlEscape(check.regionCode))</td><td>\(htmlEscape(check.target))</td>"
      html += "<td class=\"\(check.outcome.rawValue)\">\(check.outcome.rawValue)</td><td>\(htmlEscape(check.detail))</td></tr>"
    }
    return html + "</table></body></html>\n"
  }
}

private func escape(_ value: String) -> String {
  value.replacingAll("\\", "\\\\").replacingAll("\"", "\\\"").replacingAll("\n", "\\n")
}

private func htmlEscape(_ value: String) -> String {
  value.replacingAll("&", "&amp;").replacingAll("<", "&lt;").replacingAll(">", "&gt;").replacingAll("\"", "&quot;")
}

extension String {
  func replacingAll(_ target: Character, _ replacement: String) -> String {
    var out = ""
    for c in self { if c == target { out += replacement } else { out.append(c) } }
    return out
  }
}
