import XCTest
@testable import HDConfig

final class DaemonCommandLineTests: XCTestCase {
  private var directory: String!

  override func setUpWithError() throws {
    directory = NSTemporaryDirectory() + "hdconfig-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(atPath: directory)
  }

  private func write(_ text: String, name: String = "c.yaml") throws -> String {
    let path = directory + "/" + name
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  func testPrecedenceDefaultThenFileThenFlag() throws {
    let path = try write("port: 443\nworkers: 2\nlog_level: debug\n")
    // The flag comes before --config on purpose: order on the command line does not matter.
    let invocation = DaemonCommandLine.parse(["--port", "4000", "--config", path], options: .syntaxOnly)
    XCTAssertEqual(invocation.diagnostics, [])
    XCTAssertEqual(invocation.config.port, 4000)  // flag beats file
    XCTAssertEqual(invocation.config.workers, 2)  // file beats default
    XCTAssertEqual(invocation.config.logLevel, .debug)
    XCTAssertEqual(invocation.config.sockbufBytes, 0)  // default
    XCTAssertEqual(invocation.action, .run)
    XCTAssertEqual(invocation.configPath, path)
  }

  func testEqualsFormAndRepeatableFlags() {
    let invocation = DaemonCommandLine.parse(
      ["--workers=3", "--bind", "127.0.0.1", "--bind=::1", "--sqpoll", "--ktls=off", "--print-config"],
      options: .syntaxOnly)
    XCTAssertEqual(invocation.diagnostics, [])
    XCTAssertEqual(invocation.config.workers, 3)
    XCTAssertEqual(invocation.config.bind, ["127.0.0.1", "::1"])
    XCTAssertTrue(invocation.config.sqpoll)
    XCTAssertEqual(invocation.config.ktls, .off)
    XCTAssertEqual(invocation.action, .printConfig)
  }

  func testPinWorkersIsDeprecatedAliasWithWarning() {
    let invocation = DaemonCommandLine.parse(["--pin-workers", "0,1"], options: .syntaxOnly)
    XCTAssertEqual(invocation.config.pinCores, [0, 1])
    XCTAssertEqual(invocation.diagnostics.map(\.code), [.deprecatedAlias])
    XCTAssertEqual(invocation.diagnostics.first?.severity, .warning)
    XCTAssertEqual(invocation.diagnostics.first?.suggestion, "use --pin-cores")
  }

  func testCxxFlagsAreRejectedNamingTheFeature() {
    let invocation = DaemonCommandLine.parse(
      ["--hd-relay-key", "abc", "--level2", "--xdp-mode", "drv", "--port", "1234"], options: .syntaxOnly)
    XCTAssertEqual(invocation.diagnostics.map(\.code), [.unsupportedCxxFlag, .unsupportedCxxFlag, .unsupportedCxxFlag])
    XCTAssertTrue(invocation.diagnostics[0].message.contains("HD protocol"), invocation.diagnostics[0].message)
    XCTAssertTrue(invocation.diagnostics[1].message.contains("Level-2"))
    // The rejected flags' values were skipped, so the real flag after them still applies.
    XCTAssertEqual(invocation.config.port, 1234)
  }

  func testUnknownFlagSuggestsTheClosest() {
    let invocation = DaemonCommandLine.parse(["--wrokers", "2"], options: .syntaxOnly)
    XCTAssertEqual(invocation.diagnostics.first?.code, .unknownFlag)
    XCTAssertEqual(invocation.diagnostics.first?.suggestion, "did you mean '--workers'?")
  }

  func testFlagValuesAreValidatedLikeFileValues() {
    let invocation = DaemonCommandLine.parse(["--port", "70000", "--log-level", "loud", "--metrics-port"], options: .syntaxOnly)
    XCTAssertEqual(invocation.diagnostics.map(\.code), [.outOfRange, .invalidEnum, .missingFlagValue])
    XCTAssertEqual(invocation.diagnostics[0].file, "<command line>")
    XCTAssertTrue(invocation.diagnostics[0].message.hasPrefix("--port: "))
  }

  func testReloadReappliesTheSameFlags() throws {
    let path = try write("port: 443\nworkers: 2\n")
    let invocation = DaemonCommandLine.parse(["--config", path, "--workers", "4"], options: .syntaxOnly)
    XCTAssertEqual(invocation.config.workers, 4)
    _ = try write("port: 8443\nworkers: 1\n")
    let (reloaded, diagnostics) = ConfigLoader.reload(path: path, overrides: invocation.overrides, options: .syntaxOnly)
    XCTAssertEqual(diagnostics, [])
    XCTAssertEqual(reloaded?.port, 8443)
    XCTAssertEqual(reloaded?.workers, 4)
  }

  func testPrintConfigRoundTrips() throws {
    var config = Config()
    config.port = 4000
    config.bind = ["127.0.0.1", "::1"]
    config.pinCores = [0, 1]
    config.workers = 2
    config.tlsCert = "/etc/cert with \"quotes\".pem"
    config.tlsKey = "on"
    config.logLevel = .warning
    config.metrics.port = 9090
    config.metrics.debugEndpoints = true
    let yaml = config.effectiveYAML()
    let result = ConfigCheck.check(bytes: Array(yaml.utf8), file: "p.yaml", options: .syntaxOnly)
    XCTAssertEqual(result.diagnostics.filter(\.isError), [], yaml)
    XCTAssertEqual(result.config, config, yaml)
    XCTAssertTrue(yaml.contains("port: 4000\n"))
  }

  func testKeysOnceRefusedAsNotImplementedAreAccepted() throws {
    // stun_port, mesh.key_file and mesh.peers all work now: nothing refused.
    let path = try write("stun_port: 3478\nmesh:\n  key_file: /k\n  peers: [derp2.example]\n")
    let invocation = DaemonCommandLine.parse(["--config", path], options: .syntaxOnly)
    XCTAssertEqual(invocation.diagnostics.map(\.code), [])
    XCTAssertEqual(invocation.config.mesh.peers, ["derp2.example"])
  }
}
