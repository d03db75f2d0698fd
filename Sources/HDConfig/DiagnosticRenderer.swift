// Prints diagnostics for people (compiler style, which editors and CI problem
// matchers understand) and for programs (JSON).

public enum DiagnosticRenderer {
  /// `FILE:LINE:COL: error|warning: message [CODE]`, the source line, a caret, and the suggestion.
  public static func human(_ diagnostic: Diagnostic) -> String {
    var location = ""
    if let file = diagnostic.file {
      location = file
      if let line = diagnostic.line {
        location += ":\(line)"
        if let column = diagnostic.column { location += ":\(column)" }
      }
      location += ": "
    }
    var out = "\(location)\(diagnostic.severity.rawValue): \(diagnostic.message) [\(diagnostic.code.rawValue)]\n"
    if let source = diagnostic.sourceLine, let column = diagnostic.column {
      out += source + "\n"
      // Keep tabs so the caret lines up under the same column in a terminal.
      // (Appended in place: a String per character made a long line's caret
      // cost more than the whole rest of check-config.)
      var lead = ""
      lead.reserveCapacity(max(0, column - 1))
      for character in source.prefix(max(0, column - 1)) { lead.append(character == "\t" ? "\t" : " ") }
      out += lead + "^\n"
    }
    if let suggestion = diagnostic.suggestion {
      out += "  suggestion: \(suggestion)\n"
    }
    return out
  }

  public static func human(_ diagnostics: [Diagnostic]) -> String {
    diagnostics.map { human($0) }.joined()
  }

  /// One JSON object for a diagnostic, on one line.
  public static func jsonObject(_ diagnostic: Diagnostic) -> String {
    func string(_ value: String?) -> String { value.map(JSONEscaping.quoted) ?? "null" }
    func number(_ value: Int?) -> String { value.map(String.init) ?? "null" }
    let fields = [
      "\"severity\":\(JSONEscaping.quoted(diagnostic.severity.rawValue))",
      "\"code\":\(JSONEscaping.quoted(diagnostic.code.rawValue))",
      "\"file\":\(string(diagnostic.file))",
      "\"line\":\(number(diagnostic.line))",
      "\"column\":\(number(diagnostic.column))",
      "\"key\":\(string(diagnostic.keyPath))",
      "\"message\":\(JSONEscaping.quoted(diagnostic.message))",
      "\"suggestion\":\(string(diagnostic.suggestion))",
      "\"host_specific\":\(diagnostic.hostSpecific)",
    ]
    return "{" + fields.joined(separator: ",") + "}"
  }

  /// A JSON array, one diagnostic object per line.
  public static func json(_ diagnostics: [Diagnostic]) -> String {
    if diagnostics.isEmpty { return "[]\n" }
    return "[\n" + diagnostics.map { "  " + jsonObject($0) }.joined(separator: ",\n") + "\n]\n"
  }
}
