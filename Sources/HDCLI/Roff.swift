// roff(7) text for man pages: escaping and the few man(7) macros the
// generated pages use. Input is the plain or lightly marked-down text of the
// command tables and the schema (`code` and **bold** become bold).

enum Roff {
  /// Escapes text for a roff body or macro argument: backslashes, hyphens
  /// (`\-` so options copy-paste as ASCII), a leading dot or quote, break
  /// points after "]" and ",", and non-ASCII characters as named Unicode
  /// escapes (no preconv needed).
  static func escape(_ text: String) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\\": out += "\\e"
      case "-": out += "\\-"
      case "\n": out += " "
      // A zero-width break point after "]" and ",": long option syntax such as
      // HOST[,config=PATH][,ipv4=ADDR] must be breakable (groff warns otherwise).
      case "]", ",": out.unicodeScalars.append(scalar); out += "\\:"
      default:
        if scalar.isASCII {
          out.unicodeScalars.append(scalar)
        } else {
          let hex = String(scalar.value, radix: 16, uppercase: true)
          out += "\\[u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex + "]"
        }
      }
    }
    if out.hasPrefix(".") || out.hasPrefix("'") { out = "\\&" + out }
    return out
  }

  /// Escaped text where `code` and **bold** spans of the markdown sources are bold.
  static func inline(_ text: String) -> String {
    var out = ""
    var rest = Substring(text)
    while let start = rest.firstIndex(where: { $0 == "`" || $0 == "*" }) {
      let marker = rest[start] == "`" ? "`" : "**"
      guard rest[start...].hasPrefix(marker),
        let end = rest[rest.index(start, offsetBy: marker.count)...].firstRange(of: marker)
      else {
        out += escapeFragment(rest[...start])
        rest = rest[rest.index(after: start)...]
        continue
      }
      out += escapeFragment(rest[..<start])
      out += "\\fB" + escapeFragment(rest[rest.index(start, offsetBy: marker.count)..<end.lowerBound]) + "\\fR"
      rest = rest[end.upperBound...]
    }
    out += escapeFragment(rest)
    if out.hasPrefix(".") || out.hasPrefix("'") { out = "\\&" + out }
    return out
  }

  private static func escapeFragment(_ text: Substring) -> String {
    let escaped = escape(String(text))
    // Only a line start needs the dot guard; inline() adds it once for the whole line.
    return escaped.hasPrefix("\\&") ? String(escaped.dropFirst(2)) : escaped
  }

  /// A paragraph that may span several source lines (joined; roff refills it).
  static func paragraph(_ text: String) -> String {
    let words = text.split(whereSeparator: { $0 == "\n" }).map { $0.trimmingLeadingSpaces() }
    return inline(words.joined(separator: " ")) + "\n"
  }

  /// `.TP` entry: a bold tag with an optional italic value, then the body.
  static func taggedItem(_ tag: String, value: String = "", _ body: String) -> String {
    var out = ".TP\n"
    out += value.isEmpty ? ".B \(quote(tag))\n" : ".BI \(quote(tag)) \" \(escape(value))\"\n"
    return out + paragraph(body)
  }

  /// Lines for an .EX/.EE example block: each escaped on its own, line breaks kept.
  static func escapeLiteralBlock(_ text: String) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).map { escape(String($0)) + "\n" }.joined()
  }

  /// A macro argument in double quotes (a literal quote inside is `\(dq`).
  static func quote(_ text: String) -> String {
    "\"" + escape(text).split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\\(dq") + "\""
  }
}

extension Substring {
  fileprivate func trimmingLeadingSpaces() -> Substring { drop(while: { $0 == " " }) }
}
