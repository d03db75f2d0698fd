// Rich output (Unicode marks, colour) for a person at a terminal; plain ASCII
// for pipes, logs, CI and NO_COLOR, so greps and diffs see stable text.
@preconcurrency import Glibc

public enum OutputStyle: Sendable {
  case rich
  case plain

  /// Rich only when stdout is a terminal and NO_COLOR is unset (no-color.org).
  public static func forStandardOutput() -> OutputStyle {
    let noColor = getenv("NO_COLOR").map { String(cString: $0) } ?? ""
    return isatty(STDOUT_FILENO) == 1 && noColor.isEmpty ? .rich : .plain
  }

  func mark(_ status: CheckStatus) -> String {
    switch (self, status) {
    case (.rich, .ok): return "\u{1B}[32m✓\u{1B}[0m"
    case (.rich, .warning): return "\u{1B}[33m!\u{1B}[0m"
    case (.rich, .error): return "\u{1B}[31m✗\u{1B}[0m"
    case (.rich, .skipped): return "\u{1B}[2m-\u{1B}[0m"
    case (.plain, .ok): return "[ok]  "
    case (.plain, .warning): return "[warn]"
    case (.plain, .error): return "[FAIL]"
    case (.plain, .skipped): return "[skip]"
    }
  }

  func bold(_ text: String) -> String {
    self == .rich ? "\u{1B}[1m\(text)\u{1B}[0m" : text
  }

  /// Replaces the few non-ASCII characters our texts use in plain mode.
  func finish(_ text: String) -> String {
    guard self == .plain else { return text }
    var result = ""
    for character in text {
      switch character {
      case "≥": result += ">="
      case "≤": result += "<="
      case "→": result += "->"
      case "…": result += "..."
      case "✓": result += "ok"
      case "✗": result += "x"
      case "×": result += "x"
      default:
        if character.isASCII { result.append(character) } else { result += "?" }
      }
    }
    return result
  }
}

/// Left-justifies `text` in `width` columns.
func padded(_ text: String, _ width: Int) -> String {
  text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}
