import Foundation
import XCTest
@testable import HDCLI
@testable import HDConfig

/// The committed reference and completions are exactly what the code generates.
final class GeneratedFilesTests: XCTestCase {
  func testCommittedGeneratedFilesMatchTheCode() throws {
    for file in GeneratedFiles.all() {
      let path = TestPaths.repositoryRoot + "/" + file.path
      let committed = try? String(contentsOfFile: path, encoding: .utf8)
      // Not XCTAssertEqual: printing two whole documents hides the message.
      XCTAssertTrue(committed == file.contents, "\(file.path) is stale: run `hdctl generate --out .` (or `make generate`)")
    }
  }

  func testReferenceListsEveryKeyFlagCodeAndConstant() {
    let document = ReferenceDocument.markdown()
    for spec in ConfigSchema.keys {
      XCTAssertTrue(document.contains("| `\(spec.key)` |"), spec.key)
      XCTAssertTrue(document.contains("`\(spec.flag)`"), spec.flag)
    }
    XCTAssertTrue(document.contains("`--pin-workers` deprecated alias"))
    for code in DiagnosticCode.allCases { XCTAssertTrue(document.contains("`\(code.rawValue)`"), code.rawValue) }
    for constant in TuningConstants.all { XCTAssertTrue(document.contains("`\(constant.name)`"), constant.name) }
    for entry in UnsupportedCxxFeatures.keys + UnsupportedCxxFeatures.flags {
      XCTAssertTrue(document.contains("`\(entry.name)`"), entry.name)
    }
  }

  func testCompletionsOfferEveryCommandFlagAndKey() {
    let files = Dictionary(uniqueKeysWithValues: GeneratedFiles.all().map { ($0.path, $0.contents) })
    for shell in ["completions/hyper-derp.bash", "completions/_hyper-derp", "completions/hyper-derp.fish"] {
      let script = try! XCTUnwrap(files[shell])
      for spec in ConfigSchema.keys {
        let flag = shell.hasSuffix(".fish") ? "-l \(spec.flag.dropFirst(2)) " : spec.flag
        XCTAssertTrue(script.contains(flag), "\(shell) lacks \(spec.flag)")
      }
      XCTAssertTrue(script.contains("auto required off"), "\(shell) lacks ktls values")
    }
    for shell in ["completions/hdctl.bash", "completions/_hdctl", "completions/hdctl.fish"] {
      let script = try! XCTUnwrap(files[shell])
      for command in HdctlCommands.tool.commands { XCTAssertTrue(script.contains(command.name), "\(shell) lacks \(command.name)") }
      XCTAssertTrue(script.contains("metrics.debug_endpoints"), "\(shell) lacks config keys for explain")
      XCTAssertTrue(script.contains("text json"), "\(shell) lacks --format values")
    }
  }

  private func shell(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: TestPaths.repositoryRoot)
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
  }

  func testZshCompletionsParse() throws {
    try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/zsh"), "zsh not installed")
    for name in ["_hdctl", "_hyper-derp"] {
      let result = try shell("/usr/bin/zsh", ["-n", "completions/\(name)"])
      XCTAssertEqual(result.status, 0, "\(name): \(result.output)")
    }
  }

  /// fish can complete a command line non-interactively (`complete -C`), so the
  /// generated completions are exercised for real.
  func testFishCompletionCompletesSubcommandsValuesAndKeys() throws {
    try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/fish"), "fish not installed")
    func complete(_ script: String, _ line: String) throws -> [String] {
      let result = try shell("/usr/bin/fish", ["-c", "source completions/\(script); complete -C '\(line)'"])
      XCTAssertEqual(result.status, 0, result.output)
      return result.output.split(separator: "\n").map { String($0.split(separator: "\t")[0]) }
    }
    XCTAssertEqual(try complete("hdctl.fish", "hdctl che"), ["check-config"])
    XCTAssertEqual(try complete("hdctl.fish", "hdctl check-config --format ").sorted(), ["json", "text"])
    XCTAssertEqual(try complete("hdctl.fish", "hdctl explain metrics.t"), ["metrics.tls_cert", "metrics.tls_key"])
    XCTAssertEqual(try complete("hyper-derp.fish", "hyper-derp --ktls ").sorted(), ["auto", "off", "required"])
    XCTAssertEqual(try complete("hyper-derp.fish", "hyper-derp --log-f"), ["--log-format"])
  }

  /// Runs the generated bash completion in a real bash and reads COMPREPLY.
  private func bashComplete(_ script: String, words: [String]) throws -> [String] {
    let quoted = words.map { "'\($0)'" }.joined(separator: " ")
    let program = """
      source '\(TestPaths.repositoryRoot)/completions/\(script)'
      COMP_WORDS=(\(quoted)); COMP_CWORD=\(words.count - 1)
      _\(words[0].replacingOccurrences(of: "-", with: "_"))
      printf '%s\\n' "${COMPREPLY[@]}"
      """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = ["-c", program]
    process.currentDirectoryURL = URL(fileURLWithPath: TestPaths.repositoryRoot)
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 0)
    return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
  }

  func testBashCompletionCompletesSubcommandsFlagsValuesAndKeys() throws {
    XCTAssertEqual(try bashComplete("hdctl.bash", words: ["hdctl", "che"]), ["check-config"])
    XCTAssertEqual(try bashComplete("hdctl.bash", words: ["hdctl", "check-config", "--format", ""]), ["text", "json"])
    XCTAssertEqual(
      try bashComplete("hdctl.bash", words: ["hdctl", "explain", "metrics.t"]), ["metrics.tls_cert", "metrics.tls_key"])
    XCTAssertEqual(try bashComplete("hdctl.bash", words: ["hdctl", "check-config", "etc/minim"]), ["etc/minimal.yaml"])
    XCTAssertEqual(try bashComplete("hyper-derp.bash", words: ["hyper-derp", "--kt"]), ["--ktls"])
    XCTAssertEqual(try bashComplete("hyper-derp.bash", words: ["hyper-derp", "--ktls", "re"]), ["required"])
    XCTAssertEqual(try bashComplete("hyper-derp.bash", words: ["hyper-derp", "--config", "etc/high"]), ["etc/high-throughput.yaml"])
  }
}
