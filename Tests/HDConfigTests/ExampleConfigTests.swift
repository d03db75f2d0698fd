import Foundation
import XCTest
@testable import HDCLI
@testable import HDConfig

/// The shipped examples validate, and check-config behaves as its help says.
final class ExampleConfigTests: XCTestCase {
  private let examples = ["minimal", "production", "high-throughput", "hyper-derp"].map {
    TestPaths.repositoryRoot + "/etc/\($0).yaml"
  }

  private func checkConfig(_ args: [String], options: ConfigCheckOptions = ConfigCheckOptions()) throws
    -> CheckConfigRunner.Outcome
  {
    let parsed = try ParsedArguments.parse(args, for: HdctlCommands.checkConfig).get()
    return CheckConfigRunner.run(parsed, options: options)
  }

  func testExamplesValidateWithSyntaxOnly() throws {
    let outcome = try checkConfig(["--syntax-only"] + examples)
    XCTAssertEqual(outcome.exitCode, 0, outcome.output)
    XCTAssertEqual(outcome.output.split(separator: "\n").count, examples.count, outcome.output)
  }

  func testProductionExamplesNameTheMissingCertificate() throws {
    try XCTSkipIf(FileManager.default.fileExists(atPath: "/etc/hyper-derp/cert.pem"), "this host has the production cert")
    for name in ["production", "high-throughput"] {
      let path = TestPaths.repositoryRoot + "/etc/\(name).yaml"
      let outcome = try checkConfig([path], options: ConfigCheckOptions(hostRoot: TestPaths.hostFixture))
      XCTAssertEqual(outcome.exitCode, 1)
      XCTAssertTrue(
        outcome.output.contains("error: tls_cert file '/etc/hyper-derp/cert.pem' does not exist [FILE_NOT_FOUND]"),
        outcome.output)
      // On a 3-CPU host the 8/10 pinned cores are a host-specific warning, not an error.
      XCTAssertTrue(outcome.output.contains("warning: host-specific: CPUs 3-"), outcome.output)
    }
  }

  func testMinimalExampleWithPortFlagPrintsEveryEffectiveValue() {
    let path = TestPaths.repositoryRoot + "/etc/minimal.yaml"
    let invocation = DaemonCommandLine.parse(["--config", path, "--port", "4000", "--print-config"])
    XCTAssertEqual(invocation.diagnostics, [])
    XCTAssertEqual(invocation.action, .printConfig)
    let yaml = invocation.config.effectiveYAML()
    XCTAssertTrue(yaml.contains("\nport: 4000\n"), yaml)
    XCTAssertTrue(yaml.contains("\nlog_level: debug\n"), yaml)
    XCTAssertEqual(yaml.split(separator: "\n").filter { $0.contains(": ") }.count, ConfigSchema.keys.count)
  }

  /// The three seed examples of the reference, value by value.
  func testSeedExamplesHoldExactlyTheReferenceValues() {
    func load(_ name: String) -> Config {
      ConfigLoader.check(path: TestPaths.repositoryRoot + "/etc/\(name).yaml", options: .syntaxOnly).config
    }
    XCTAssertEqual(load("minimal"), Config(port: 3340, logLevel: .debug))
    XCTAssertEqual(
      load("production"),
      Config(
        port: 443, workers: 8, pinCores: Array(0...7), sockbufBytes: 2_097_152, tlsCert: "/etc/hyper-derp/cert.pem",
        tlsKey: "/etc/hyper-derp/key.pem", logLevel: .info, metrics: MetricsConfig(port: 9090)))
    XCTAssertEqual(
      load("high-throughput"),
      Config(
        port: 443, workers: 10, pinCores: Array(0...9), sockbufBytes: 4_194_304, sqpoll: true,
        tlsCert: "/etc/hyper-derp/cert.pem", tlsKey: "/etc/hyper-derp/key.pem", logLevel: .warning,
        metrics: MetricsConfig(port: 9090)))
  }

  func testStrictTurnsWarningsIntoFailure() throws {
    let path = TestPaths.corpus + "/16-bool-spelling.yaml"
    XCTAssertEqual(try checkConfig(["--syntax-only", path]).exitCode, 0)
    XCTAssertEqual(try checkConfig(["--syntax-only", "--strict", path]).exitCode, 1)
  }

  func testJSONFormatHasOneObjectPerDiagnosticWithAllFields() throws {
    let path = TestPaths.corpus + "/08-unknown-keys.yaml"
    let outcome = try checkConfig(["--format", "json", "--syntax-only", path])
    XCTAssertEqual(outcome.exitCode, 1)
    let objects = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [[String: Any]])
    XCTAssertEqual(objects.count, 5)
    let first = objects[0]
    for field in ["severity", "code", "file", "line", "column", "key", "message", "suggestion", "host_specific"] {
      XCTAssertNotNil(first[field], field)
    }
    XCTAssertEqual(first["code"] as? String, "UNKNOWN_KEY")
    XCTAssertEqual(first["line"] as? Int, 1)
    XCTAssertEqual(first["column"] as? Int, 1)
    XCTAssertEqual(first["key"] as? String, "wrokers")
    XCTAssertEqual(first["suggestion"] as? String, "did you mean 'workers'?")
  }

  func testMissingDefaultFileIsAnError() throws {
    try XCTSkipIf(FileManager.default.fileExists(atPath: HdctlCommands.defaultConfigPath))
    let outcome = try checkConfig([])
    XCTAssertEqual(outcome.exitCode, 1)
    XCTAssertTrue(outcome.output.contains("[CONFIG_FILE_UNREADABLE]"), outcome.output)
  }
}
