// Reads the Prometheus text exposition (format 0.0.4) into samples: enough
// for `hdctl status` to sum and pick series. Comments and blank lines are
// skipped; a line that does not parse is skipped too (status is a viewer,
// the strict checks of our exposition live in the metrics tests).

public struct PrometheusSample: Sendable, Equatable {
  public var name: String
  public var labels: [String: String]
  public var value: Double
}

public struct PrometheusSamples: Sendable {
  public var samples: [PrometheusSample]

  public init(text: String) {
    samples = text.split(separator: "\n").compactMap { Self.parseLine(Substring($0)) }
  }

  /// Families present (sample names).
  public var names: Set<String> { Set(samples.map(\.name)) }

  /// Sum of every series of `name` whose labels include `matching`.
  public func sum(_ name: String, _ matching: [String: String] = [:]) -> Double? {
    let picked = samples.filter { sample in
      sample.name == name && matching.allSatisfy { key, value in sample.labels[key] == value }
    }
    return picked.isEmpty ? nil : picked.reduce(0) { $0 + $1.value }
  }

  /// `name` summed per value of `label`.
  public func sumBy(_ name: String, label: String) -> [String: Double] {
    var out: [String: Double] = [:]
    for sample in samples where sample.name == name {
      out[sample.labels[label] ?? "", default: 0] += sample.value
    }
    return out
  }

  public func first(_ name: String) -> PrometheusSample? { samples.first { $0.name == name } }

  static func parseLine(_ line: Substring) -> PrometheusSample? {
    var rest = line.drop { $0 == " " || $0 == "\t" }
    guard let first = rest.first, first != "#" else { return nil }
    let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }
    guard !name.isEmpty else { return nil }
    rest = rest.dropFirst(name.count)
    var labels: [String: String] = [:]
    if rest.first == "{" {
      rest = rest.dropFirst()
      while true {
        rest = rest.drop { $0 == " " || $0 == "," }
        if rest.first == "}" {
          rest = rest.dropFirst()
          break
        }
        let key = rest.prefix { $0 != "=" }
        guard !key.isEmpty, rest.dropFirst(key.count).first == "=" else { return nil }
        rest = rest.dropFirst(key.count + 1)
        guard rest.first == "\"" else { return nil }
        rest = rest.dropFirst()
        var value = ""
        var escaped = false
        var closed = false
        while let c = rest.first {
          rest = rest.dropFirst()
          if escaped {
            value.append(c == "n" ? "\n" : c)
            escaped = false
          } else if c == "\\" {
            escaped = true
          } else if c == "\"" {
            closed = true
            break
          } else {
            value.append(c)
          }
        }
        guard closed else { return nil }
        labels[String(key).trimmingCharacters(in: " ")] = value
      }
    }
    let fields = rest.split(whereSeparator: { $0 == " " || $0 == "\t" })
    guard let valueText = fields.first else { return nil }
    let value: Double?
    switch valueText {
    case "+Inf": value = .infinity
    case "-Inf": value = -.infinity
    case "NaN": value = .nan
    default: value = Double(valueText)
    }
    guard let value else { return nil }
    return PrometheusSample(name: String(name), labels: labels, value: value)
  }
}
