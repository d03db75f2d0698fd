import Foundation
import XCTest
@testable import HDCLI
@testable import HDConfig

/// The man pages come from the command tables and the schema: everything in
/// them is documented, and man(1) renders them without a warning.
final class ManPageTests: XCTestCase {
  private func roff(_ text: String) -> String { Roff.escape(text) }

  func testHdctlPageHasEveryCommandOptionAndExitCode() {
    let page = ManPage.hdctl()
    for command in HdctlCommands.tool.commands {
      XCTAssertTrue(page.contains(".SS \"hdctl \(roff(command.name))\""), command.name)
      for option in command.options {
        XCTAssertTrue(page.contains(roff(option.name)), "\(command.name) \(option.name)")
      }
      for positional in command.positionals { XCTAssertTrue(page.contains(roff(positional.help)), positional.name) }
      for exit in command.exitCodes { XCTAssertTrue(page.contains(roff(exit.meaning)), "\(command.name) exit \(exit.code)") }
    }
  }

  func testDaemonPageHasEveryFlag() {
    let page = ManPage.daemon()
    for flag in DaemonCommandLine.allFlags { XCTAssertTrue(page.contains(".BI \"\(roff(flag))\"") || page.contains(".B \"\(roff(flag))\""), flag) }
    XCTAssertTrue(page.contains(".SH SIGNALS"))
  }

  func testConfigPageHasEveryKeyUnderItsSection() {
    let page = ConfigManPage.page()
    for spec in ConfigSchema.keys {
      guard let entry = page.range(of: ".B \"\(roff(spec.key))\"") else {
        XCTFail("\(spec.key) missing")
        continue
      }
      XCTAssertTrue(page[entry.upperBound...].contains(roff(spec.flag)), spec.flag)
      if let section = spec.section {
        let heading = page.range(of: ".SH \"SECTION \(section.uppercased())\"")
        XCTAssertNotNil(heading, section)
        if let heading { XCTAssertLessThan(heading.lowerBound, entry.lowerBound, "\(spec.key) before its section") }
      }
    }
    for rule in ReferenceDocument.loadingRules { XCTAssertTrue(page.contains(Roff.inline(rule[0]).prefix(20)), rule[0]) }
  }

  func testEscapingKeepsRoffControlCharactersLiteral() {
    XCTAssertEqual(Roff.escape("--flag"), "\\-\\-flag")
    XCTAssertEqual(Roff.escape(".starts with a dot"), "\\&.starts with a dot")
    XCTAssertEqual(Roff.escape("a\\b"), "a\\eb")
    XCTAssertEqual(Roff.escape("1–65535"), "1\\[u2013]65535")
    XCTAssertEqual(Roff.inline("use `--port` or **this**"), "use \\fB\\-\\-port\\fR or \\fBthis\\fR")
    XCTAssertEqual(Roff.inline("a lone ` stays"), "a lone ` stays")
  }

  /// The check lintian runs (man-db with warnings on): no complaint from groff.
  func testManRendersEveryPageWithoutWarnings() throws {
    try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/man"), "man-db not installed")
    let directory = NSTemporaryDirectory() + "manpages-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    for file in GeneratedFiles.all() where file.path.hasPrefix("man/") {
      let path = directory + "/" + String(file.path.dropFirst(4))
      try file.contents.write(toFile: path, atomically: true, encoding: .utf8)
      let process = Process()
      process.executableURL = URL(fileURLWithPath: "/usr/bin/man")
      process.arguments = ["--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", path]
      process.environment = ["LC_ALL": "C.UTF-8", "MANWIDTH": "80", "PATH": "/usr/bin:/bin"]
      let errors = Pipe()
      process.standardOutput = FileHandle.nullDevice
      process.standardError = errors
      try process.run()
      let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      process.waitUntilExit()
      XCTAssertEqual(process.terminationStatus, 0, file.path)
      XCTAssertEqual(text, "", "\(file.path): \(text)")
    }
  }
}
