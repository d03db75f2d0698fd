// The YAML tree the validator walks. Every node keeps the position where it
// starts (1-based line and column), so every diagnostic can point at it.

public struct YAMLMark: Sendable, Equatable {
  public var line: Int
  public var column: Int

  public init(line: Int, column: Int) {
    self.line = line
    self.column = column
  }
}

public struct YAMLPair: Sendable, Equatable {
  public var key: YAMLNode
  public var value: YAMLNode
}

public indirect enum YAMLValue: Sendable, Equatable {
  /// `plain` is false for quoted, block and explicitly tagged scalars: only plain
  /// scalars may be read as numbers, booleans or null.
  case scalar(String, plain: Bool)
  case mapping([YAMLPair])
  case sequence([YAMLNode])
}

public struct YAMLNode: Sendable, Equatable {
  public var value: YAMLValue
  public var mark: YAMLMark

  public init(value: YAMLValue, mark: YAMLMark) {
    self.value = value
    self.mark = mark
  }

  /// The text of a scalar node, nil for collections.
  public var scalarText: String? {
    if case .scalar(let text, _) = value { return text }
    return nil
  }

  /// A plain scalar spelled like YAML's null (`~`, `null`, or nothing at all).
  public var isNull: Bool {
    if case .scalar(let text, let plain) = value, plain {
      return text.isEmpty || text == "~" || text == "null" || text == "Null" || text == "NULL"
    }
    return false
  }

  /// What the node is, for messages such as "expected an integer, found a list".
  public var kindDescription: String {
    switch value {
    case .scalar(let text, let plain):
      if isNull { return "null" }
      return plain ? "'\(text)'" : "the string \"\(text)\""
    case .mapping: return "a mapping"
    case .sequence: return "a list"
    }
  }
}

/// A parsed file: the root node (nil for an empty document) and its lines for snippets.
public struct YAMLDocument: Sendable {
  public var root: YAMLNode?
  public var lines: [String]

  /// The source line `line` (1-based), if it exists.
  public func sourceLine(_ line: Int) -> String? {
    guard line >= 1, line <= lines.count else { return nil }
    return lines[line - 1]
  }
}
