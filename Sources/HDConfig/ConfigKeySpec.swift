// One row of the configuration schema: everything the loader, the CLI, the
// checker, --print-config, `hdctl explain`, the completions and the generated
// reference need to know about a key.

public struct ConfigKeySpec: Sendable {
  /// Whether operators of the C++ server already know the key.
  public enum Lineage: String, Sendable {
    case cxxCompatible = "C++-compatible"
    case new = "new"
  }

  /// Dotted YAML key path, e.g. `metrics.port`.
  public let key: String
  /// Long CLI flag, e.g. `--metrics-port`.
  public let flag: String
  /// Older flag spellings still accepted, each with a deprecation warning.
  public let deprecatedFlags: [String]
  public let type: SettingType
  /// The default as the reference shows it.
  public let defaultDescription: String
  /// The range or allowed values as the reference shows it ("" when none).
  public let rangeDescription: String
  /// The unit of an integer value, shown after the type ("bytes").
  public let unit: String?
  /// One line for operators.
  public let doc: String
  public let lineage: Lineage
  /// False until the component that gives the key its behaviour has landed; a
  /// non-default value of such a key makes the daemon refuse to start.
  public let implemented: Bool
  let read: @Sendable (Config) -> SettingValue
  let write: @Sendable (inout Config, SettingValue) -> Void

  init(
    _ key: String, flag: String, deprecatedFlags: [String] = [], type: SettingType,
    defaultDescription: String, rangeDescription: String = "", unit: String? = nil,
    lineage: Lineage, implemented: Bool = true, doc: String,
    read: @escaping @Sendable (Config) -> SettingValue,
    write: @escaping @Sendable (inout Config, SettingValue) -> Void
  ) {
    self.key = key
    self.flag = flag
    self.deprecatedFlags = deprecatedFlags
    self.type = type
    self.defaultDescription = defaultDescription
    self.rangeDescription = rangeDescription
    self.unit = unit
    self.doc = doc
    self.lineage = lineage
    self.implemented = implemented
    self.read = read
    self.write = write
  }

  /// The value of this key in `config`.
  public func value(in config: Config) -> SettingValue { read(config) }

  /// Stores `value` (already validated against `type`) into `config`.
  public func apply(_ value: SettingValue, to config: inout Config) { write(&config, value) }

  /// The YAML section (`metrics`) of a nested key, nil for top-level keys.
  public var section: String? {
    guard let dot = key.firstIndex(of: ".") else { return nil }
    return String(key[..<dot])
  }

  /// The key's name inside its section (`port` for `metrics.port`).
  public var leafName: String {
    guard let dot = key.lastIndex(of: ".") else { return key }
    return String(key[key.index(after: dot)...])
  }

  /// True when `config` holds something other than the built-in default.
  public func isSet(in config: Config) -> Bool { read(config) != read(Config()) }
}
