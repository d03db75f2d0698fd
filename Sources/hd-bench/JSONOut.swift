// Ordered JSON output (field order as the C++ tool writes it), no Foundation.

import HDConfig

indirect enum JSONOut: Sendable {
  case int(Int64)
  case uint(UInt64)
  /// A number rounded to `decimals` places.
  case number(Double, decimals: Int)
  case string(String)
  case bool(Bool)
  case null
  case array([JSONOut])
  case object([(String, JSONOut)])

  static func num(_ v: Double, _ decimals: Int) -> JSONOut { .number(v, decimals: decimals) }
  static func opt(_ v: Double?, _ decimals: Int) -> JSONOut { v.map { .number($0, decimals: decimals) } ?? .null }

  func render(indent: Int = 0, pretty: Bool = true) -> String {
    let pad = pretty ? String(repeating: "  ", count: indent + 1) : ""
    let closePad = pretty ? String(repeating: "  ", count: indent) : ""
    let nl = pretty ? "\n" : ""
    switch self {
    case .int(let v): return String(v)
    case .uint(let v): return String(v)
    case .number(let v, let decimals): return Self.format(v, decimals: decimals)
    case .string(let s): return JSONEscaping.quoted(s)
    case .bool(let b): return b ? "true" : "false"
    case .null: return "null"
    case .array(let items):
      if items.isEmpty { return "[]" }
      return "[" + nl + items.map { pad + $0.render(indent: indent + 1, pretty: pretty) }.joined(separator: "," + nl) + nl + closePad + "]"
    case .object(let fields):
      if fields.isEmpty { return "{}" }
      let sep = pretty ? ": " : ":"
      return "{" + nl + fields.map { pad + JSONEscaping.quoted($0.0) + sep + $0.1.render(indent: indent + 1, pretty: pretty) }
        .joined(separator: "," + nl) + nl + closePad + "}"
    }
  }

  /// Fixed decimals without Foundation; non-finite values become null.
  static func format(_ v: Double, decimals: Int) -> String {
    guard v.isFinite else { return "null" }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = (abs(v) * scale).rounded()
    guard scaled < 9e18 else { return String(v) }
    let whole = UInt64(scaled)
    let unit = UInt64(scale)
    var text = String(whole / unit)
    if decimals > 0 {
      let frac = String(whole % unit)
      text += "." + String(repeating: "0", count: decimals - frac.count) + frac
    }
    return (v < 0 && whole != 0 ? "-" : "") + text
  }
}
