// What a SIGHUP reload changed, key by key, for the log and for deciding what
// can be applied without a restart.
import HDConfig

public struct ConfigChange: Sendable, Equatable, CustomStringConvertible {
  /// Schema key path, e.g. `log_level` or `metrics.port`.
  public var key: String
  public var oldValue: String
  public var newValue: String

  public var description: String { "\(key): \(oldValue) -> \(newValue)" }

  /// Every key whose effective value differs, in schema order.
  public static func between(_ old: Config, _ new: Config) -> [ConfigChange] {
    ConfigSchema.keys.compactMap { spec in
      let before = spec.value(in: old)
      let after = spec.value(in: new)
      guard before != after else { return nil }
      return ConfigChange(key: spec.key, oldValue: text(before), newValue: text(after))
    }
  }

  static func text(_ value: SettingValue) -> String {
    switch value {
    case .integer(let number): return String(number)
    case .boolean(let flag): return flag ? "true" : "false"
    case .string(let text): return text
    case .unset: return "(unset)"
    case .strings(let items): return "[" + items.joined(separator: ", ") + "]"
    case .integers(let items): return "[" + items.map(String.init).joined(separator: ", ") + "]"
    }
  }
}
