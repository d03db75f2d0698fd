// Where a setting's value came from, so diagnostics about it (including the
// ones found later, such as a missing certificate) point at the right place.

public enum SettingOrigin: Sendable, Equatable {
  case builtIn
  case file(path: String, mark: YAMLMark, sourceLine: String?)
  case commandLine(flag: String)

  /// The `file` field of diagnostics about command-line flags.
  public static let commandLineFile = "<command line>"

  func diagnostic(
    _ severity: Severity, _ code: DiagnosticCode, key: String?, _ message: String,
    suggestion: String? = nil, hostSpecific: Bool = false
  ) -> Diagnostic {
    switch self {
    case .builtIn:
      return Diagnostic(
        severity: severity, code: code, keyPath: key, message: message, suggestion: suggestion,
        hostSpecific: hostSpecific)
    case .file(let path, let mark, let sourceLine):
      return Diagnostic(
        severity: severity, code: code, file: path, line: mark.line, column: mark.column, keyPath: key,
        message: message, suggestion: suggestion, sourceLine: sourceLine, hostSpecific: hostSpecific)
    case .commandLine(let flag):
      return Diagnostic(
        severity: severity, code: code, file: SettingOrigin.commandLineFile, keyPath: key,
        message: "\(flag): \(message)", suggestion: suggestion, hostSpecific: hostSpecific)
    }
  }
}
