// JSON string literals (RFC 8259) without Foundation, shared by config
// diagnostics, the daemon's JSON log lines and hd-bench's result files.

public enum JSONEscaping {
  /// `text` as a quoted JSON string: quote, backslash and control characters
  /// escaped (short forms for \n \r \t, \u00XX for the rest); everything else verbatim.
  public static func quoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if scalar.value < 0x20 {
          let hex = String(scalar.value, radix: 16)
          out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out + "\""
  }
}
