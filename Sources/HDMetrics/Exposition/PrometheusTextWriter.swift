// Writes the Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/): every family
// gets `# HELP` and `# TYPE` exactly once, immediately followed by its samples.

/// The Content-Type a 0.0.4 scrape is served with.
let prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

enum PrometheusMetricType: String {
  case counter, gauge
}

/// One sample value. Counters and most gauges are integers; rendering them as
/// integers keeps large byte counts exact (a Double loses precision past 2^53).
enum PrometheusValue: Equatable {
  case integer(UInt64)
  case signed(Int64)
  case double(Double)

  var text: String {
    switch self {
    case .integer(let value): return String(value)
    case .signed(let value): return String(value)
    case .double(let value):
      if value.isNaN { return "NaN" }
      if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
      if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
      return String(value)
    }
  }
}

struct PrometheusSample {
  var labels: [(name: String, value: String)]
  var value: PrometheusValue

  init(_ labels: [(name: String, value: String)] = [], _ value: PrometheusValue) {
    self.labels = labels
    self.value = value
  }
}

struct PrometheusTextWriter {
  private(set) var text: String
  private var familyNames: Set<String> = []

  /// A full scrape is ~15 KiB; reserving once avoids regrowing the string.
  init(capacityBytes: Int = 32 * 1024) {
    text = ""
    text.reserveCapacity(capacityBytes)
  }

  /// Appends one family. Names are compile-time constants of this module, so a
  /// bad or repeated name is a programming error, not a runtime condition.
  mutating func family(
    _ name: String, type: PrometheusMetricType, help: String, samples: [PrometheusSample]
  ) {
    precondition(isValidMetricName(name), "invalid metric name \(name)")
    precondition(familyNames.insert(name).inserted, "metric family \(name) written twice")
    precondition(type != .counter || name.hasSuffix("_total"), "counter \(name) must end in _total")
    text += "# HELP \(name) \(escapeHelp(help))\n# TYPE \(name) \(type.rawValue)\n"
    for sample in samples {
      text += name
      if !sample.labels.isEmpty {
        text += "{"
        for (index, label) in sample.labels.enumerated() {
          precondition(isValidLabelName(label.name), "invalid label name \(label.name)")
          if index > 0 { text += "," }
          text += "\(label.name)=\"\(escapeLabelValue(label.value))\""
        }
        text += "}"
      }
      text += " \(sample.value.text)\n"
    }
  }

  mutating func counter(_ name: String, help: String, _ value: UInt64) {
    family(name, type: .counter, help: help, samples: [PrometheusSample([], .integer(value))])
  }

  mutating func gauge(_ name: String, help: String, _ value: PrometheusValue) {
    family(name, type: .gauge, help: help, samples: [PrometheusSample([], value)])
  }
}

/// `# HELP` text escapes backslash and newline only.
func escapeHelp(_ text: String) -> String {
  // Nearly every string needs no escaping; checking bytes is far cheaper than
  // rebuilding the string character by character (a scrape has ~100 of them).
  if !text.utf8.contains(where: { $0 == backslashByte || $0 == newlineByte }) { return text }
  var out = ""
  for char in text {
    switch char {
    case "\\": out += "\\\\"
    case "\n": out += "\\n"
    default: out.append(char)
    }
  }
  return out
}

/// Label values additionally escape the double quote.
func escapeLabelValue(_ text: String) -> String {
  if !text.utf8.contains(where: { $0 == backslashByte || $0 == newlineByte || $0 == quoteByte }) { return text }
  var out = ""
  for char in text {
    switch char {
    case "\\": out += "\\\\"
    case "\n": out += "\\n"
    case "\"": out += "\\\""
    default: out.append(char)
    }
  }
  return out
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
func isValidMetricName(_ name: String) -> Bool {
  guard let first = name.utf8.first, !isDigitByte(first) else { return false }
  return name.utf8.allSatisfy { isWordByte($0) || $0 == UInt8(ascii: ":") }
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, and names starting with `__` are reserved.
func isValidLabelName(_ name: String) -> Bool {
  guard let first = name.utf8.first, !isDigitByte(first), !name.hasPrefix("__") else { return false }
  return name.utf8.allSatisfy(isWordByte)
}

private let backslashByte = UInt8(ascii: "\\")
private let newlineByte = UInt8(ascii: "\n")
private let quoteByte = UInt8(ascii: "\"")

private func isDigitByte(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

private func isWordByte(_ byte: UInt8) -> Bool {
  isDigitByte(byte) || byte == UInt8(ascii: "_") || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
    || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
}
