// Command name → handler. A handler takes the parsed arguments and returns the
// exit code; adding a command means a CommandSpec in HDCLI plus an entry here.

import Glibc
import HDCLI
import HDConfig

enum HdctlDispatcher {
  static let handlers: [String: CommandHandler] = [
    "check-config": runCheckConfig,
    "explain": runExplain,
    "generate": runGenerate,
    "version": runVersion,
    // Owned by the ops engineer (Doctor*/Recommend*/Tune*.swift); placeholders
    // live in OpsCommandPlaceholders.swift until those files land.
    "doctor": runDoctor,
    "recommend": runRecommend,
    "tune": runTune,
  ]

  static func run(_ arguments: [String]) -> Int32 {
    let tool = HdctlCommands.tool
    guard let name = arguments.first else {
      writeError(HelpRenderer.toolHelp(tool))
      return ParsedArguments.usageExitCode
    }
    if name == "--help" || name == "-h" || name == "help" {
      if arguments.count > 1, let command = tool.command(named: arguments[1]) {
        print(HelpRenderer.commandHelp(tool, command), terminator: "")
      } else {
        print(HelpRenderer.toolHelp(tool), terminator: "")
      }
      return 0
    }
    if name == "--version" { return runVersion(ParsedArguments(command: "version")) }
    guard let command = tool.command(named: name), let handler = handlers[name] else {
      var message = "hdctl: unknown command '\(name)'"
      if let near = Suggestions.closest(to: name, among: tool.commands.map(\.name)) {
        message += "; did you mean '\(near)'?"
      }
      writeError(message + "\nRun 'hdctl --help' for the list of commands.\n")
      return ParsedArguments.usageExitCode
    }
    switch ParsedArguments.parse(Array(arguments.dropFirst()), for: command) {
    case .failure(let error):
      writeError("hdctl \(name): \(error.message)\n\(HelpRenderer.usageLine(tool, command))\n")
      return ParsedArguments.usageExitCode
    case .success(let parsed):
      if parsed.has("--help") {
        print(HelpRenderer.commandHelp(tool, command), terminator: "")
        return 0
      }
      return handler(parsed)
    }
  }
}

/// Writes to standard error (fd 2 directly: the C `stderr` global is not concurrency-safe).
func writeError(_ text: String) {
  let line = text.hasSuffix("\n") ? text : text + "\n"
  var bytes = Array(line.utf8)[...]
  while !bytes.isEmpty {
    let written = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    if written <= 0 { return }
    bytes = bytes.dropFirst(written)
  }
}
