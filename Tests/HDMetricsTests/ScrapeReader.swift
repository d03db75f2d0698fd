// Reads series values out of a scrape by their exact text (`name{a="b"}`),
// for polling counters cheaply; full validation uses PrometheusValidation.
struct Scrape {
  let text: String
  let values: [String: Double]

  init(_ text: String) {
    self.text = text
    var values: [String: Double] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
      guard let space = line.lastIndex(of: " ") else { continue }
      values[String(line[..<space])] = Double(line[line.index(after: space)...])
    }
    self.values = values
  }

  /// The value of a series; 0 for a missing one would hide bugs, so it's nil.
  subscript(_ series: String) -> Double? { values[series] }

  func dropped(_ reason: String, _ kind: String) -> Double? {
    values["hyper_derp_packets_dropped_total{reason=\"\(reason)\",kind=\"\(kind)\"}"]
  }

  func droppedBytes(_ reason: String, _ kind: String) -> Double? {
    values["hyper_derp_bytes_dropped_total{reason=\"\(reason)\",kind=\"\(kind)\"}"]
  }
}
