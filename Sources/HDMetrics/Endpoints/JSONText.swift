// Minimal JSON output for /health and /debug/*: objects with string, integer,
// boolean and nested values. Keys keep insertion order so output is stable.
import HDConfig

indirect enum JSONText {
  case string(String)
  case integer(Int64)
  case unsigned(UInt64)
  case number(Double)
  case bool(Bool)
  case null
  case object([(String, JSONText)])
  case array([JSONText])

  var serialized: String {
    var out = ""
    write(to: &out)
    return out
  }

  func write(to out: inout String) {
    switch self {
    case .string(let value): writeString(value, to: &out)
    case .integer(let value): out += String(value)
    case .unsigned(let value): out += String(value)
    case .number(let value): out += value.isFinite ? String(value) : "null"
    case .bool(let value): out += value ? "true" : "false"
    case .null: out += "null"
    case .object(let members):
      out += "{"
      for (index, (key, value)) in members.enumerated() {
        if index > 0 { out += "," }
        writeString(key, to: &out)
        out += ":"
        value.write(to: &out)
      }
      out += "}"
    case .array(let elements):
      out += "["
      for (index, value) in elements.enumerated() {
        if index > 0 { out += "," }
        value.write(to: &out)
      }
      out += "]"
    }
  }

  private func writeString(_ value: String, to out: inout String) {
    out += JSONEscaping.quoted(value)
  }
}
