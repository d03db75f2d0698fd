// The value types a configuration key can have, and the parsed values they produce.

public enum SettingType: Sendable {
  /// Whole decimal number within the range.
  case integer(ClosedRange<Int64>)
  case boolean
  /// One of `values`; `aliases` maps extra accepted spellings to a value.
  case enumeration([String], aliases: [String: String])
  /// A file path; nil (unset) by default.
  case path
  /// An http(s) URL; nil (unset) by default.
  case url
  /// A list of IPv4/IPv6 literals.
  case ipList
  /// A list of CPU numbers, each within the range and distinct; also written "0,2,4".
  case cpuList(ClosedRange<Int64>)
  /// A list of `host[:port]` or http(s) URLs.
  case hostList
  /// A list of DNS names (no wildcards, no trailing dot).
  case domainList
  /// A list of values from `values`.
  case enumList([String])
  /// One line of free text; nil (unset) by default.
  case text

  /// True for list types: CLI flags of these may be repeated (values accumulate).
  public var isList: Bool {
    switch self {
    case .ipList, .cpuList, .hostList, .domainList, .enumList: return true
    default: return false
    }
  }

  /// True when the value may be unset (null).
  public var isOptional: Bool {
    switch self {
    case .path, .url, .text: return true
    default: return false
    }
  }

  /// The "type" column of the reference.
  public var typeDescription: String {
    switch self {
    case .integer: return "int"
    case .boolean: return "bool"
    case .enumeration: return "enum"
    case .path: return "path"
    case .url: return "URL"
    case .ipList: return "list of IP literals"
    case .cpuList: return "list of int, or a string \"0,2,4\""
    case .hostList: return "list of host[:port] or URLs"
    case .domainList: return "list of DNS names"
    case .enumList: return "list of enum"
    case .text: return "string"
    }
  }

  /// The accepted values of an enumeration, canonical names first, for help and completion.
  public var enumValues: [String] {
    if case .enumeration(let values, let aliases) = self {
      return values + aliases.keys.sorted()
    }
    if case .enumList(let values) = self { return values }
    return []
  }
}

/// A parsed value, before it is stored in `Config`.
public enum SettingValue: Sendable, Equatable {
  case integer(Int64)
  case boolean(Bool)
  case string(String)
  case unset
  case strings([String])
  case integers([Int])

  var integerValue: Int64 {
    if case .integer(let value) = self { return value }
    preconditionFailure("schema type mismatch: \(self) is not an integer")
  }

  var booleanValue: Bool {
    if case .boolean(let value) = self { return value }
    preconditionFailure("schema type mismatch: \(self) is not a boolean")
  }

  var stringValue: String {
    if case .string(let value) = self { return value }
    preconditionFailure("schema type mismatch: \(self) is not a string")
  }

  var optionalStringValue: String? {
    switch self {
    case .string(let value): return value
    case .unset: return nil
    default: preconditionFailure("schema type mismatch: \(self) is not an optional string")
    }
  }

  var stringsValue: [String] {
    if case .strings(let value) = self { return value }
    preconditionFailure("schema type mismatch: \(self) is not a string list")
  }

  var integersValue: [Int] {
    if case .integers(let value) = self { return value }
    preconditionFailure("schema type mismatch: \(self) is not an integer list")
  }

  static func optional(_ value: String?) -> SettingValue {
    value.map { .string($0) } ?? .unset
  }
}
