// Text and JSON forms of a doctor report.
import FoundationEssentials

extension DoctorReport {
  static let codeWidth = CheckCode.allCases.map(\.rawValue.count).max()! + 2

  public func text(style: OutputStyle) -> String {
    var lines = ["hdctl doctor: is this host ready for hyper-derp? (config: \(configSource))"]
    for section in CheckSection.allCases {
      let members = results.filter { $0.section == section }
      guard !members.isEmpty else { continue }
      let worst = members.map(\.outcome.status).max()!
      lines.append("")
      lines.append("\(style.mark(worst)) \(style.bold(section.rawValue))")
      for result in members {
        let outcome = result.outcome
        let fact = outcome.status == .skipped ? "skipped: \(outcome.fact)" : outcome.fact
        lines.append("    \(style.mark(outcome.status)) \(padded(result.code.rawValue, Self.codeWidth))\(fact)")
        if let fix = outcome.fix {
          let indent = String(repeating: " ", count: 4 + (style == .plain ? 7 : 2) + Self.codeWidth)
          lines.append("\(indent)fix: \(fix)")
        }
      }
    }
    lines.append("")
    lines.append(summaryLine)
    return style.finish(lines.joined(separator: "\n") + "\n")
  }

  var summaryLine: String {
    let errors = count(.error), warnings = count(.warning)
    let counts =
      "\(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s"), \(count(.skipped)) skipped, \(count(.ok)) ok"
    switch exitCode {
    case 0: return "\(counts): ready" + (warnings > 0 ? " (warnings do not fail without --strict)." : ".")
    default: return "\(counts): not ready" + (errors == 0 ? " (--strict: warnings fail)." : ".")
    }
  }

  public func json() -> String {
    struct Check: Encodable {
      var code, section, status, title, fact: String
      var fix: String?
    }
    struct Summary: Encodable {
      var ok, warning, error, skipped: Int
    }
    struct Document: Encodable {
      var schema = "hdctl-doctor/1"
      var config: String
      var strict: Bool
      var checks: [Check]
      var summary: Summary
      var exit_code: Int32
    }
    let document = Document(
      config: configSource, strict: strict,
      checks: results.map {
        Check(
          code: $0.code.rawValue, section: $0.section.rawValue, status: $0.outcome.status.rawValue,
          title: $0.code.title, fact: $0.outcome.fact, fix: $0.outcome.fix)
      },
      summary: Summary(ok: count(.ok), warning: count(.warning), error: count(.error), skipped: count(.skipped)),
      exit_code: exitCode)
    return encodeJSON(document)
  }

  /// `--list-checks`: code, section, prerequisites and what each check asks.
  public static func checkList(json: Bool) -> String {
    if json {
      struct Entry: Encodable {
        var code, section, title: String
        var prerequisites: [String]
      }
      return encodeJSON(CheckCode.allCases.map {
        Entry(code: $0.rawValue, section: $0.section.rawValue, title: $0.title, prerequisites: $0.prerequisites.map(\.rawValue))
      })
    }
    var lines: [String] = []
    for section in CheckSection.allCases {
      lines.append(section.rawValue)
      for code in CheckCode.allCases where code.section == section {
        let needs = code.prerequisites.isEmpty ? "" : " (needs \(code.prerequisites.map(\.rawValue).joined(separator: ", ")))"
        lines.append("  \(padded(code.rawValue, codeWidth))\(code.title)\(needs)")
      }
    }
    return OutputStyle.plain.finish(lines.joined(separator: "\n") + "\n")
  }
}

/// Pretty JSON with sorted keys (stable for goldens and diffs), newline-terminated.
func encodeJSON(_ value: some Encodable) -> String {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
  guard let data = try? encoder.encode(value) else { return "{}\n" }
  return String(decoding: data, as: UTF8.self) + "\n"
}
