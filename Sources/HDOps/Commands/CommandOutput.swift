// What an ops command produced; the hdctl handler prints it and exits.

public struct CommandOutput: Sendable, Equatable {
  public var standardOutput: String
  public var standardError: String
  public var exitCode: Int32

  public init(standardOutput: String = "", standardError: String = "", exitCode: Int32 = 0) {
    self.standardOutput = standardOutput
    self.standardError = standardError
    self.exitCode = exitCode
  }

  /// Exit status for wrong flags, as check-config uses (EX_USAGE).
  public static let usageExitCode: Int32 = 64

  static func usage(_ message: String) -> CommandOutput {
    CommandOutput(standardError: "error: \(message)\n", exitCode: usageExitCode)
  }

  static func failure(_ message: String) -> CommandOutput {
    CommandOutput(standardError: "error: \(message)\n", exitCode: 1)
  }
}
