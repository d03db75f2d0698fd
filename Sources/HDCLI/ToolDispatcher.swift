// Runs a tool with subcommands: finds the command, parses its arguments against
// its CommandSpec, answers --help, and calls the handler registered under the
// command's name. Usage errors exit 64 (EX_USAGE) with the usage line.

public struct ToolDispatcher: Sendable {
  public let tool: ToolSpec
  public let handlers: [String: CommandHandler]
  /// Where help goes (stdout) and where usage errors go (stderr).
  public let standardOutput: @Sendable (String) -> Void
  public let standardError: @Sendable (String) -> Void

  public init(
    tool: ToolSpec, handlers: [String: CommandHandler], standardOutput: @escaping @Sendable (String) -> Void,
    standardError: @escaping @Sendable (String) -> Void
  ) {
    self.tool = tool
    self.handlers = handlers
    self.standardOutput = standardOutput
    self.standardError = standardError
  }

  public func run(_ arguments: [String]) -> Int32 {
    guard let name = arguments.first else {
      standardError(HelpRenderer.toolHelp(tool))
      return ParsedArguments.usageExitCode
    }
    if name == "--help" || name == "-h" || name == "help" {
      if arguments.count > 1, let command = tool.command(named: arguments[1]) {
        standardOutput(HelpRenderer.commandHelp(tool, command))
      } else {
        standardOutput(HelpRenderer.toolHelp(tool))
      }
      return 0
    }
    if name == "--version", let version = handlers["version"] { return version(ParsedArguments(command: "version")) }
    guard let command = tool.command(named: name), let handler = handlers[name] else {
      var message = "\(tool.name): unknown command '\(name)'"
      if let near = ParsedArguments.closest(name, tool.commands.map(\.name)) { message += "; did you mean '\(near)'?" }
      standardError(message + "\nRun '\(tool.name) --help' for the list of commands.\n")
      return ParsedArguments.usageExitCode
    }
    switch ParsedArguments.parse(Array(arguments.dropFirst()), for: command) {
    case .failure(let error):
      standardError("\(tool.name) \(name): \(error.message)\n\(HelpRenderer.usageLine(tool, command))\n")
      return ParsedArguments.usageExitCode
    case .success(let parsed):
      if parsed.has("--help") {
        standardOutput(HelpRenderer.commandHelp(tool, command))
        return 0
      }
      return handler(parsed)
    }
  }
}
