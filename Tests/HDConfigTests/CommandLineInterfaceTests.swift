import XCTest
@testable import HDCLI
@testable import HDConfig

final class CommandLineInterfaceTests: XCTestCase {
  func testParsesOptionsBothWaysAndPositionals() throws {
    let parsed = try ParsedArguments.parse(["a.yaml", "--format=json", "--strict", "b.yaml"], for: HdctlCommands.checkConfig).get()
    XCTAssertEqual(parsed.positionals, ["a.yaml", "b.yaml"])
    XCTAssertEqual(parsed.value("--format"), "json")
    XCTAssertTrue(parsed.has("--strict"))
    XCTAssertFalse(parsed.has("--syntax-only"))
    let spaced = try ParsedArguments.parse(["--format", "text"], for: HdctlCommands.checkConfig).get()
    XCTAssertEqual(spaced.value("--format"), "text")
  }

  func testRepeatableOptionsAccumulate() throws {
    let parsed = try ParsedArguments.parse(["--only", "A,B", "--only", "C"], for: HdctlCommands.doctor).get()
    XCTAssertEqual(parsed.values("--only"), ["A,B", "C"])
  }

  func testUsageErrors() {
    func message(_ args: [String], _ spec: CommandSpec) -> String? {
      if case .failure(let error) = ParsedArguments.parse(args, for: spec) { return error.message }
      return nil
    }
    XCTAssertEqual(message(["--formt", "json"], HdctlCommands.checkConfig), "unknown option '--formt' for check-config; did you mean '--format'?")
    XCTAssertEqual(message(["--format", "xml"], HdctlCommands.checkConfig), "--format: 'xml' is not one of text, json")
    XCTAssertEqual(message(["--format"], HdctlCommands.checkConfig), "--format needs a value (text|json)")
    XCTAssertEqual(message(["--strict=yes"], HdctlCommands.checkConfig), "--strict takes no value")
    XCTAssertEqual(message([], HdctlCommands.explain), "explain needs KEY")
    XCTAssertEqual(message(["port", "workers"], HdctlCommands.explain), "unexpected argument 'workers' for explain")
    XCTAssertNil(message(["--help"], HdctlCommands.explain), "--help needs no positional")
  }

  func testCheckConfigHelpDocumentsExitCodes() {
    let help = HelpRenderer.commandHelp(HdctlCommands.tool, HdctlCommands.checkConfig)
    XCTAssertTrue(help.contains("Usage: hdctl check-config [PATH...] [OPTIONS]"), help)
    for line in ["  0   valid", "  1   invalid", "  64  usage error", "--syntax-only", "--format text|json"] {
      XCTAssertTrue(help.contains(line), "help lacks '\(line)':\n\(help)")
    }
  }

  func testDaemonHelpListsEveryFlagFromTheSchema() {
    let help = HelpRenderer.toolHelp(DaemonCommand.tool)
    for spec in ConfigSchema.keys { XCTAssertTrue(help.contains(spec.flag), spec.flag) }
    for action in DaemonCommandLine.actionFlags { XCTAssertTrue(help.contains(action.flag), action.flag) }
    XCTAssertTrue(help.contains("--ktls auto|required|off"), help)
  }

  func testEveryHdctlCommandIsDefined() {
    XCTAssertEqual(
      HdctlCommands.tool.commands.map(\.name),
      ["check-config", "explain", "generate", "doctor", "recommend", "tune", "derpmap", "probe", "status", "cert", "version"])
  }
}

final class ToolDispatcherTests: XCTestCase {
  /// Collects what the dispatcher writes; the closures must be Sendable.
  private final class Capture: @unchecked Sendable {
    var output = ""
    var errors = ""
  }

  private func dispatch(_ arguments: [String]) -> (code: Int32, capture: Capture, calls: [ParsedArguments]) {
    let capture = Capture()
    let calls = CallLog()
    let handlers: [String: CommandHandler] = Dictionary(
      uniqueKeysWithValues: HdctlCommands.tool.commands.map { command in
        (command.name, { @Sendable arguments in calls.append(arguments); return 7 } as CommandHandler)
      })
    let dispatcher = ToolDispatcher(
      tool: HdctlCommands.tool, handlers: handlers, standardOutput: { capture.output += $0 },
      standardError: { capture.errors += $0 })
    return (dispatcher.run(arguments), capture, calls.entries)
  }

  private final class CallLog: @unchecked Sendable {
    var entries: [ParsedArguments] = []
    func append(_ arguments: ParsedArguments) { entries.append(arguments) }
  }

  func testDispatchesParsedArgumentsToTheRegisteredHandler() {
    let result = dispatch(["check-config", "--strict", "a.yaml"])
    XCTAssertEqual(result.code, 7)
    XCTAssertEqual(result.calls.map(\.command), ["check-config"])
    XCTAssertEqual(result.calls.first?.positionals, ["a.yaml"])
  }

  func testUsageErrorsExit64WithoutCallingTheHandler() {
    for arguments in [[], ["chek-config"], ["check-config", "--bogus"], ["explain"]] {
      let result = dispatch(arguments)
      XCTAssertEqual(result.code, 64, "\(arguments)")
      XCTAssertEqual(result.calls.count, 0, "\(arguments)")
      XCTAssertFalse(result.capture.errors.isEmpty, "\(arguments)")
    }
    XCTAssertTrue(dispatch(["chek-config"]).capture.errors.contains("did you mean 'check-config'?"))
  }

  func testHelpForToolAndCommand() {
    let tool = dispatch(["--help"])
    XCTAssertEqual(tool.code, 0)
    XCTAssertTrue(tool.capture.output.contains("check-config"))
    let command = dispatch(["check-config", "--help"])
    XCTAssertEqual(command.code, 0)
    XCTAssertTrue(command.capture.output.contains("Exit codes:"))
    XCTAssertEqual(command.calls.count, 0)
  }
}
