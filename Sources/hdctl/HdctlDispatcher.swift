// Command name → handler. A handler takes the parsed arguments and returns the
// exit code; adding a command means a CommandSpec in HDCLI plus an entry here.

import Glibc
import HDCLI

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
    "derpmap": runDERPMap,
    "probe": runProbe,
    "status": runStatus,
    "cert": runCert,
  ]

  static func run(_ arguments: [String]) -> Int32 {
    let dispatcher = ToolDispatcher(
      tool: HdctlCommands.tool, handlers: handlers, standardOutput: { print($0, terminator: "") },
      standardError: { writeError($0) })
    return dispatcher.run(arguments)
  }
}

/// Writes to standard error (fd 2 directly: the C `stderr` global is not concurrency-safe).
func writeError(_ text: String) {
  let line = text.hasSuffix("\n") ? text : text + "\n"
  var bytes = Array(line.utf8)[...]
  while !bytes.isEmpty {
    let written = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    if written < 0, errno == EINTR { continue }
    if written <= 0 { return }
    bytes = bytes.dropFirst(written)
  }
}
