// --print-config: the effective configuration as YAML that the loader reads
// back to the same Config (a test checks the round trip).

extension Config {
  public func effectiveYAML() -> String {
    var out = "# Effective hyper-derp configuration (built-in defaults < config file < flags).\n"
    for spec in ConfigSchema.keys where spec.section == nil {
      out += "\(spec.key): \(Config.yamlText(spec.value(in: self), type: spec.type))\n"
    }
    for section in ConfigSchema.sections {
      out += "\(section):\n"
      for spec in ConfigSchema.keys where spec.section == section {
        out += "  \(spec.leafName): \(Config.yamlText(spec.value(in: self), type: spec.type))\n"
      }
    }
    return out
  }

  static func yamlText(_ value: SettingValue, type: SettingType) -> String {
    switch value {
    case .integer(let number): return String(number)
    case .boolean(let flag): return flag ? "true" : "false"
    case .unset: return "null"
    case .string(let text):
      if case .enumeration = type { return text }
      return quoted(text)
    case .strings(let items): return "[" + items.map(quoted).joined(separator: ", ") + "]"
    case .integers(let items): return "[" + items.map(String.init).joined(separator: ", ") + "]"
    }
  }

  /// A double-quoted YAML scalar; quoting always keeps paths like `on` or `1:2` strings.
  static func quoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\t": out += "\\t"
      default:
        if scalar.value < 0x20 || scalar.value == 0x7F {
          let hex = String(scalar.value, radix: 16)
          out += "\\x" + String(repeating: "0", count: 2 - hex.count) + hex
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out + "\""
  }
}
