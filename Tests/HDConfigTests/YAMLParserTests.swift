import XCTest
@testable import HDConfig

final class YAMLParserTests: XCTestCase {
  func testEveryNodeKeepsItsOneBasedPosition() throws {
    let (document, diagnostics) = YAMLParser.parse("port: 1\nmetrics:\n  bind: [a, \"b\"]\n", file: "x")
    XCTAssertEqual(diagnostics, [])
    guard case .mapping(let pairs)? = document.root?.value else { return XCTFail("root") }
    XCTAssertEqual(pairs[0].key.mark, YAMLMark(line: 1, column: 1))
    XCTAssertEqual(pairs[0].value.mark, YAMLMark(line: 1, column: 7))
    guard case .mapping(let inner) = pairs[1].value.value else { return XCTFail("metrics") }
    XCTAssertEqual(inner[0].key.mark, YAMLMark(line: 3, column: 3))
    guard case .sequence(let items) = inner[0].value.value else { return XCTFail("bind") }
    XCTAssertEqual(items.map(\.mark), [YAMLMark(line: 3, column: 10), YAMLMark(line: 3, column: 13)])
    XCTAssertEqual(items.map(\.value), [.scalar("a", plain: true), .scalar("b", plain: false)])
  }

  func testEmptyAndCommentOnlyFilesAreDefaults() {
    for text in ["", "# nothing\n", "---\n"] {
      let result = ConfigCheck.check(bytes: Array(text.utf8), file: "e.yaml", options: .syntaxOnly)
      XCTAssertEqual(result.diagnostics, [], text)
      XCTAssertEqual(result.config, Config(), text)
    }
  }

  func testCRLFFilesKeepLinesAndValues() {
    let result = ConfigCheck.check(bytes: Array("port: 443\r\nworkers: x\r\n".utf8), file: "c.yaml", options: .syntaxOnly)
    XCTAssertEqual(result.config.port, 443)
    XCTAssertEqual(result.diagnostics.first?.line, 2)
    XCTAssertEqual(result.diagnostics.first?.sourceLine, "workers: x")
  }

  /// libyaml forces a line break at the end of a file without one, so an
  /// error there named a line after the last (config-yaml fuzz finding);
  /// it is the end of the last line.
  func testErrorAtEndOfFileWithoutNewlineNamesTheLastLine() {
    let result = ConfigCheck.check(bytes: Array("mesh:\n  peers: [a, b".utf8), file: "e.yaml", options: .syntaxOnly)
    XCTAssertEqual(result.diagnostics.first?.code, .yamlSyntax)
    XCTAssertEqual(result.diagnostics.first?.line, 2)
    XCTAssertEqual(result.diagnostics.first?.column, 15)
    let withNewline = ConfigCheck.check(bytes: Array("mesh:\n  peers: [a, b\n".utf8), file: "e.yaml", options: .syntaxOnly)
    XCTAssertEqual(withNewline.diagnostics.first?.line, 3, "after a final line break, the next line is real")
    // libyaml's mark index counts characters: a multi-byte one before the end must not matter.
    let multiByte = ConfigCheck.check(bytes: Array("port: [1,\u{65A} 2\nopt:w3 ".utf8), file: "e.yaml", options: .syntaxOnly)
    XCTAssertEqual(multiByte.diagnostics.first?.line, 2)
  }

  func testCPUListParsing() {
    XCTAssertEqual(HostFacts.parseCPUList("0-3,5,7-8\n"), [0, 1, 2, 3, 5, 7, 8])
    XCTAssertEqual(HostFacts.parseCPUList(""), [])
    XCTAssertNil(HostFacts.parseCPUList("3-1"))
    XCTAssertEqual(HostFacts.formatCPUList([0, 1, 2, 5, 7, 8]), "0-2,5,7-8")
  }

  func testHostFactsFromFixtureRoot() {
    let facts = HostFacts.read(root: TestPaths.hostFixture)
    XCTAssertEqual(facts.onlineCPUs, [0, 1, 2])
    XCTAssertEqual(facts.allowedCPUs, [0, 1])
    XCTAssertEqual(facts.smtSiblings[0], [0, 1])
    XCTAssertEqual(facts.rmemMaxBytes, 212_992)
    XCTAssertEqual(facts.wmemMaxBytes, 212_992)
  }
}
