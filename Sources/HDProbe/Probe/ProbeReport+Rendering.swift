// `hdctl probe` output: a table for people, one JSON document for programs.
import HDConfig
import HDProtocol

extension ProbeReport {
  public func table() -> String {
    let header = ["CHECK", "REGION", "TARGET", "RESULT", "DETAIL"]
    let rows = checks.map { [$0.kind.rawValue, $0.regionCode, $0.target, $0.outcome.rawValue.uppercased(), $0.detail] }
    var widths = header.map(\.count)
    for row in rows { for (i, cell) in row.enumerated() where i < 4 { widths[i] = max(widths[i], cell.count) } }
    func line(_ cells: [String]) -> String {
      cells.enumerated().map { i, cell in i < 4 ? cell.padding(widths[i] + 1) : cell }.joined()
    }
    var out = ([line(header)] + rows.map(line)).joined(separator: "\n") + "\n"
    let failures = failed.count
    out += failures == 0
      ? "all \(checks.filter { $0.outcome == .ok }.count) checks passed in \(String(format1: durationSeconds)) s\n"
      : "\(failures) of \(checks.count) checks FAILED: " + failed.map { "\($0.kind.rawValue) \($0.target)" }.joined(separator: ", ") + "\n"
    return out
  }

  public func json() -> String {
    func number(_ value: Double) -> String { value.isFinite ? String(value) : "null" }
    let checkObjects = checks.map { check -> String in
      var fields = [
        "\"check\":" + JSONValue.quote(check.kind.rawValue), "\"region\":" + JSONValue.quote(check.regionCode),
        "\"node\":" + JSONValue.quote(check.node), "\"peer\":" + (check.peer.map(JSONValue.quote) ?? "null"),
        "\"result\":" + JSONValue.quote(check.outcome.rawValue), "\"detail\":" + JSONValue.quote(check.detail),
      ]
      if !check.latencySeconds.isEmpty {
        let p = [0.5, 0.9, 0.99].map { percentile(check.latencySeconds, $0).map(number) ?? "null" }
        fields.append("\"latency_seconds\":{\"p50\":\(p[0]),\"p90\":\(p[1]),\"p99\":\(p[2]),\"samples\":\(check.latencySeconds.count)}")
      }
      return "{" + fields.joined(separator: ",") + "}"
    }
    let nodeObjects = nodes.map { facts -> String in
      "{\"region\":" + JSONValue.quote(facts.regionCode) + ",\"node\":" + JSONValue.quote(facts.node)
        + ",\"certificate_not_after\":" + (facts.certificateNotAfter.map { String($0) } ?? "null")
        + ",\"server_key\":" + (facts.serverKey.map { JSONValue.quote($0.hex) } ?? "null")
        + ",\"bandwidth_bytes_per_second\":" + (facts.bandwidthBytesPerSecond.map(number) ?? "null") + "}"
    }
    return "{\"ok\":\(allPassed),\"started_at\":\(startedAtSeconds),\"duration_seconds\":\(number(durationSeconds)),"
      + "\"checks\":[" + checkObjects.joined(separator: ",") + "],\"nodes\":[" + nodeObjects.joined(separator: ",") + "]}\n"
  }
}
