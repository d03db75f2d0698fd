// Minimal JSON reader and string escaper for the handshake messages, so the
// protocol module needs no Foundation. Inputs are bounded (ClientInfo ≤ 256 KiB)
// and nesting is capped, so hostile input cannot exhaust the stack.

/// A parsed JSON value. Numbers keep their text so integers stay exact.
public indirect enum JSONValue: Equatable, Sendable {
  case null
  case bool(Bool)
  case number(String)
  case string(String)
  case array([JSONValue])
  case object([(String, JSONValue)])

  public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
    switch (lhs, rhs) {
    case (.null, .null): return true
    case (.bool(let a), .bool(let b)): return a == b
    case (.number(let a), .number(let b)): return a == b
    case (.string(let a), .string(let b)): return a == b
    case (.array(let a), .array(let b)): return a == b
    case (.object(let a), .object(let b)):
      return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    default: return false
    }
  }

  static let maxDepth = 32

  public struct ParseError: Error, Equatable, CustomStringConvertible {
    public let offset: Int
    public let reason: String
    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
  }

  /// Parses one JSON document; trailing non-whitespace is an error.
  public static func parse(_ bytes: [UInt8]) throws(ParseError) -> JSONValue {
    var reader = Reader(bytes: bytes)
    let value = try reader.value(depth: 0)
    reader.skipSpace()
    guard reader.index == bytes.count else { throw reader.fail("trailing data") }
    return value
  }

  /// Looks up `name` in an object's fields the way Go's encoding/json does:
  /// an exact match wins, otherwise the first case-insensitive match.
  public static func field(_ fields: [(String, JSONValue)], _ name: String) -> JSONValue? {
    if let exact = fields.last(where: { $0.0 == name }) { return exact.1 }
    let lower = name.lowercased()
    return fields.last(where: { $0.0.lowercased() == lower })?.1
  }

  /// `"text"` with JSON escapes, as Go's encoder writes it (<, >, & escaped too).
  public static func quote(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case "<", ">", "&", "\u{2028}", "\u{2029}":
        out += "\\u" + hex4(scalar.value)
      default:
        if scalar.value < 0x20 { out += "\\u" + hex4(scalar.value) } else { out.unicodeScalars.append(scalar) }
      }
    }
    return out + "\""
  }

  static func hex4(_ v: UInt32) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(v >> 12 & 15)], digits[Int(v >> 8 & 15)], digits[Int(v >> 4 & 15)], digits[Int(v & 15)]])
  }
}

private struct Reader {
  let bytes: [UInt8]
  var index = 0

  init(bytes: [UInt8]) { self.bytes = bytes }

  func fail(_ reason: String) -> JSONValue.ParseError { .init(offset: index, reason: reason) }

  mutating func skipSpace() {
    while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0a || bytes[index] == 0x0d {
      index += 1
    }
  }

  mutating func expect(_ literal: String, _ value: JSONValue) throws(JSONValue.ParseError) -> JSONValue {
    for c in literal.utf8 {
      guard index < bytes.count, bytes[index] == c else { throw fail("bad literal") }
      index += 1
    }
    return value
  }

  mutating func value(depth: Int) throws(JSONValue.ParseError) -> JSONValue {
    guard depth < JSONValue.maxDepth else { throw fail("nesting too deep") }
    skipSpace()
    guard index < bytes.count else { throw fail("unexpected end") }
    switch bytes[index] {
    case UInt8(ascii: "{"): return try object(depth: depth)
    case UInt8(ascii: "["): return try array(depth: depth)
    case UInt8(ascii: "\""): return .string(try string())
    case UInt8(ascii: "t"): return try expect("true", .bool(true))
    case UInt8(ascii: "f"): return try expect("false", .bool(false))
    case UInt8(ascii: "n"): return try expect("null", .null)
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
    default: throw fail("unexpected character")
    }
  }

  mutating func object(depth: Int) throws(JSONValue.ParseError) -> JSONValue {
    index += 1
    var fields: [(String, JSONValue)] = []
    skipSpace()
    if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
      index += 1
      return .object(fields)
    }
    while true {
      skipSpace()
      guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected key") }
      let key = try string()
      skipSpace()
      guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
      index += 1
      fields.append((key, try value(depth: depth + 1)))
      skipSpace()
      guard index < bytes.count else { throw fail("unexpected end") }
      if bytes[index] == UInt8(ascii: ",") {
        index += 1
        continue
      }
      guard bytes[index] == UInt8(ascii: "}") else { throw fail("expected ',' or '}'") }
      index += 1
      return .object(fields)
    }
  }

  mutating func array(depth: Int) throws(JSONValue.ParseError) -> JSONValue {
    index += 1
    var items: [JSONValue] = []
    skipSpace()
    if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
      index += 1
      return .array(items)
    }
    while true {
      items.append(try value(depth: depth + 1))
      skipSpace()
      guard index < bytes.count else { throw fail("unexpected end") }
      if bytes[index] == UInt8(ascii: ",") {
        index += 1
        continue
      }
      guard bytes[index] == UInt8(ascii: "]") else { throw fail("expected ',' or ']'") }
      index += 1
      return .array(items)
    }
  }

  mutating func number() throws(JSONValue.ParseError) -> JSONValue {
    let start = index
    if bytes[index] == UInt8(ascii: "-") { index += 1 }
    var digits = 0
    while index < bytes.count {
      let c = bytes[index]
      let isNumberByte = (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: ".") || c == UInt8(ascii: "e")
        || c == UInt8(ascii: "E") || c == UInt8(ascii: "+") || c == UInt8(ascii: "-")
      guard isNumberByte else { break }
      if c >= 0x30 && c <= 0x39 { digits += 1 }
      index += 1
    }
    guard digits > 0 else { throw fail("bad number") }
    return .number(String(decoding: bytes[start..<index], as: UTF8.self))
  }

  mutating func hex4() throws(JSONValue.ParseError) -> UInt32 {
    guard index + 4 <= bytes.count else { throw fail("short \\u escape") }
    var v: UInt32 = 0
    for _ in 0..<4 {
      guard let n = Hex.nibble(bytes[index]) else { throw fail("bad \\u escape") }
      v = v << 4 | UInt32(n)
      index += 1
    }
    return v
  }

  mutating func string() throws(JSONValue.ParseError) -> String {
    index += 1
    var runStart = index
    var out = ""
    while true {
      guard index < bytes.count else { throw fail("unterminated string") }
      let c = bytes[index]
      if c == UInt8(ascii: "\"") {
        out += String(decoding: bytes[runStart..<index], as: UTF8.self)
        index += 1
        return out
      }
      if c < 0x20 { throw fail("control character in string") }
      if c != UInt8(ascii: "\\") {
        index += 1
        continue
      }
      out += String(decoding: bytes[runStart..<index], as: UTF8.self)
      index += 1
      guard index < bytes.count else { throw fail("unterminated escape") }
      let e = bytes[index]
      index += 1
      switch e {
      case UInt8(ascii: "\""): out += "\""
      case UInt8(ascii: "\\"): out += "\\"
      case UInt8(ascii: "/"): out += "/"
      case UInt8(ascii: "b"): out += "\u{08}"
      case UInt8(ascii: "f"): out += "\u{0c}"
      case UInt8(ascii: "n"): out += "\n"
      case UInt8(ascii: "r"): out += "\r"
      case UInt8(ascii: "t"): out += "\t"
      case UInt8(ascii: "u"):
        var v = try hex4()
        if v >= 0xD800 && v < 0xDC00, index + 6 <= bytes.count, bytes[index] == UInt8(ascii: "\\"),
          bytes[index + 1] == UInt8(ascii: "u")
        {
          index += 2
          let low = try hex4()
          if low >= 0xDC00 && low < 0xE000 {
            v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
          } else {
            out.unicodeScalars.append("\u{FFFD}")
            v = low
          }
        }
        out.unicodeScalars.append(Unicode.Scalar(v) ?? "\u{FFFD}")
      default: throw fail("bad escape")
      }
      runStart = index
    }
  }
}
