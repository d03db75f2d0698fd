// One finding about a configuration: where it is, how bad it is, and what to do.

public enum Severity: String, Sendable, Codable, Comparable {
  case warning, error

  public static func < (lhs: Severity, rhs: Severity) -> Bool {
    lhs == .warning && rhs == .error
  }
}

public struct Diagnostic: Sendable, Equatable {
  public var severity: Severity
  public var code: DiagnosticCode
  /// The config file, or `<command line>` for flags; nil when no input is involved.
  public var file: String?
  /// 1-based; nil when the diagnostic has no position (command line, missing key).
  public var line: Int?
  public var column: Int?
  /// Dotted key path such as `metrics.port`, when one key is concerned.
  public var keyPath: String?
  public var message: String
  /// A concrete fix ("did you mean 'workers'?"), when there is one.
  public var suggestion: String?
  /// The source line the position points into, for the caret snippet.
  public var sourceLine: String?
  /// True when the finding depends on the machine the check ran on.
  public var hostSpecific: Bool

  public init(
    severity: Severity, code: DiagnosticCode, file: String? = nil, line: Int? = nil,
    column: Int? = nil, keyPath: String? = nil, message: String, suggestion: String? = nil,
    sourceLine: String? = nil, hostSpecific: Bool = false
  ) {
    self.severity = severity
    self.code = code
    self.file = file
    self.line = line
    self.column = column
    self.keyPath = keyPath
    self.message = message
    self.suggestion = suggestion
    self.sourceLine = sourceLine
    self.hostSpecific = hostSpecific
  }

  public var isError: Bool { severity == .error }
}

extension Array where Element == Diagnostic {
  public var hasErrors: Bool { contains { $0.severity == .error } }
  public var hasWarnings: Bool { contains { $0.severity == .warning } }
}
