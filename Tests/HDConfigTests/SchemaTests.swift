import Foundation
import XCTest
@testable import HDConfig

final class SchemaTests: XCTestCase {
  /// A non-default sample value for each key type, to exercise the key's wiring.
  private func sample(_ spec: ConfigKeySpec) -> SettingValue {
    switch spec.type {
    case .integer(let range): return .integer(range.upperBound == Int64(0) ? range.lowerBound : range.lowerBound + 7)
    case .boolean: return .boolean(true)
    case .enumeration(let values, _): return .string(values.first { .string($0) != spec.value(in: Config()) }!)
    case .path: return .string("/x/\(spec.key)")
    case .url: return .string("https://\(spec.key).example/")
    case .ipList: return .strings(["127.0.0.9"])
    case .cpuList: return .integers([3, 1])
    case .hostList: return .strings(["\(spec.key).example:443"])
    case .domainList: return .strings(["\(spec.key).example"])
    case .enumList(let values): return .strings([values.last!])
    case .text: return .string("text-\(spec.key)")
    }
  }

  func testEveryKeyWritesAndReadsExactlyItsOwnField() {
    for spec in ConfigSchema.keys {
      var config = Config()
      let value = sample(spec)
      spec.apply(value, to: &config)
      XCTAssertEqual(spec.value(in: config), value, spec.key)
      for other in ConfigSchema.keys where other.key != spec.key {
        XCTAssertEqual(other.value(in: config), other.value(in: Config()), "setting \(spec.key) changed \(other.key)")
      }
    }
  }

  func testKeysAndFlagsAreUniqueAndFollowTheNamingRule() {
    XCTAssertEqual(Set(ConfigSchema.keys.map(\.key)).count, ConfigSchema.keys.count)
    let flags = ConfigSchema.keys.flatMap { [$0.flag] + $0.deprecatedFlags } + DaemonCommandLine.actionFlags.map(\.flag)
    XCTAssertEqual(Set(flags).count, flags.count)
    for spec in ConfigSchema.keys {
      XCTAssertTrue(spec.flag.hasPrefix("--"), spec.flag)
      XCTAssertFalse(spec.doc.isEmpty, spec.key)
      XCTAssertNil(UnsupportedCxxFeatures.flag(spec.flag), spec.flag)
    }
  }

  func testImplementedFlagsMatchTheBrief() {
    let notImplemented = ConfigSchema.keys.filter { !$0.implemented }.map(\.key)
    XCTAssertEqual(
      notImplemented, [])
    XCTAssertEqual(Config().notImplementedSettings(), [], "defaults are never refused")
  }

  func testDefaultConfigPrintsAndReadsBackToItself() {
    let yaml = Config().effectiveYAML()
    let result = ConfigCheck.check(bytes: Array(yaml.utf8), file: "defaults.yaml", options: .syntaxOnly)
    XCTAssertEqual(result.diagnostics, [])
    XCTAssertEqual(result.config, Config())
    for spec in ConfigSchema.keys {
      XCTAssertTrue(yaml.contains("\(spec.leafName): "), "--print-config lacks \(spec.key)")
    }
  }

  func testCommentedExampleSetsEveryKey() throws {
    let path = TestPaths.repositoryRoot + "/etc/hyper-derp.yaml"
    let result = ConfigLoader.check(path: path, options: .syntaxOnly)
    XCTAssertEqual(result.diagnostics, [])
    XCTAssertEqual(Set(result.origins.keys), Set(ConfigSchema.keys.map(\.key)), "etc/hyper-derp.yaml must show every key")
  }

  func testExplainCoversEveryKey() {
    for spec in ConfigSchema.keys {
      XCTAssertTrue(spec.explanation.hasPrefix(spec.key), spec.key)
      XCTAssertTrue(spec.explanation.contains(spec.flag), spec.key)
    }
    for key in ["mesh.key_file", "mesh.peers"] {
      XCTAssertFalse(ConfigSchema.spec(forKey: key)!.explanation.contains("not implemented yet"), key)
    }
  }

  func testSuggestionsFindTyposButNotUnrelatedWords() {
    XCTAssertEqual(Suggestions.closest(to: "wrokers", among: ConfigSchema.names(inSection: nil)), "workers")
    XCTAssertEqual(Suggestions.closest(to: "sock_buf", among: ConfigSchema.names(inSection: nil)), "sockbuf")
    XCTAssertEqual(Suggestions.closest(to: "PORT", among: ConfigSchema.names(inSection: nil)), "port")
    XCTAssertNil(Suggestions.closest(to: "frobnicate", among: ConfigSchema.names(inSection: nil)))
    XCTAssertEqual(Suggestions.editDistance("ab", "ba"), 1)
  }

  func testLogLevelAliasesAndOrder() {
    XCTAssertEqual(LogLevel(configValue: "warn"), .warning)
    XCTAssertEqual(LogLevel(configValue: "warning"), .warning)
    XCTAssertLessThan(LogLevel.debug, LogLevel.info)
    XCTAssertLessThan(LogLevel.critical, LogLevel.off)
  }
}
