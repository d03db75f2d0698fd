import Foundation
import XCTest
@testable import HDConfig

/// Every broken config of the corpus produces exactly its golden output, and
/// together the cases cover every diagnostic code.
final class CorpusTests: XCTestCase {
  private struct Case {
    let name: String
    let path: String
    let flags: [String]
  }

  private func cases() throws -> [Case] {
    let names = try FileManager.default.contentsOfDirectory(atPath: TestPaths.corpus)
      .filter { $0.hasSuffix(".yaml") }.sorted()
    return try names.map { name in
      let base = String(name.dropLast(".yaml".count))
      let flagsPath = TestPaths.corpus + "/" + base + ".flags"
      var flags: [String] = []
      if FileManager.default.fileExists(atPath: flagsPath) {
        flags = try String(contentsOfFile: flagsPath, encoding: .utf8).split(separator: "\n").map(String.init)
      }
      return Case(name: base, path: TestPaths.corpus + "/" + name, flags: flags)
    }
  }

  private func run(_ testCase: Case) -> [Diagnostic] {
    let options = ConfigCheckOptions(hostRoot: TestPaths.hostFixture, nowSeconds: TestPaths.corpusNowSeconds)
    return DaemonCommandLine.parse(testCase.flags + ["--config", testCase.path], options: options).diagnostics
  }

  private func render(_ diagnostics: [Diagnostic]) -> String {
    DiagnosticRenderer.human(diagnostics).replacingOccurrences(of: TestPaths.corpus + "/", with: "")
  }

  func testCorpusHasEnoughCases() throws {
    XCTAssertGreaterThanOrEqual(try cases().count, 30)
  }

  func testEveryCaseMatchesItsGoldenOutput() throws {
    let update = ProcessInfo.processInfo.environment["HD_UPDATE_GOLDEN"] != nil
    for testCase in try cases() {
      let actual = render(run(testCase))
      let goldenPath = TestPaths.corpus + "/" + testCase.name + ".expected"
      if update {
        try actual.write(toFile: goldenPath, atomically: true, encoding: .utf8)
        continue
      }
      let expected = try? String(contentsOfFile: goldenPath, encoding: .utf8)
      XCTAssertEqual(actual, expected, "\(testCase.name): output differs from \(goldenPath)")
    }
  }

  func testBrokenCasesReportSomethingAndValidCasesNothing() throws {
    for testCase in try cases() {
      let diagnostics = run(testCase)
      if testCase.name.dropFirst(3).hasPrefix("valid-") {
        XCTAssertEqual(diagnostics, [], testCase.name)
      } else {
        XCTAssertFalse(diagnostics.isEmpty, "\(testCase.name) should produce diagnostics")
      }
      for diagnostic in diagnostics where diagnostic.file != SettingOrigin.commandLineFile {
        // Every finding about a file carries a position, except an unreadable file.
        if diagnostic.code != .configFileUnreadable {
          XCTAssertNotNil(diagnostic.line, "\(testCase.name): \(diagnostic)")
          XCTAssertNotNil(diagnostic.column, "\(testCase.name): \(diagnostic)")
        }
      }
    }
  }

  func testEveryDiagnosticCodeIsCoveredByTheCorpus() throws {
    var covered: Set<DiagnosticCode> = []
    for testCase in try cases() {
      covered.formUnion(run(testCase).map(\.code))
    }
    // NOT_IMPLEMENTED is reserved for keys a build does not honour yet; this
    // build has none (SchemaTests.testImplementedFlagsMatchTheBrief).
    let missing = DiagnosticCode.allCases.filter { !covered.contains($0) && $0 != .notImplemented }.map(\.rawValue)
    XCTAssertEqual(missing, [], "diagnostic codes without a corpus case")
  }

  func testAllDiagnosticsOfAFileComeFromOneRun() throws {
    let testCase = try XCTUnwrap(cases().first { $0.name == "45-cxx-config-many-errors" })
    let codes = Set(run(testCase).map(\.code))
    XCTAssertTrue(
      codes.isSuperset(of: [.invalidInteger, .unknownKey, .portConflict, .boolSpelling, .unsupportedCxxKey]), "\(codes)")
  }
}
