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
