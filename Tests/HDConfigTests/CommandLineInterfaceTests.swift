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
      ["check-config", "explain", "generate", "doctor", "recommend", "tune", "version"])
  }
}
