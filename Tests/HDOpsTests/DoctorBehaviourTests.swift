// Selection, prerequisites, exit codes and output forms of hdctl doctor.
import XCTest
@testable import HDOps

/// Probes that count health requests, to prove --skip really skips them.
final class CountingProbes: HostProbes, @unchecked Sendable {
  let base: FixtureHostProbes
  private let lock = NSLock()
  private var healthRequests = 0

  init(_ base: FixtureHostProbes) { self.base = base }

  var healthRequestCount: Int { lock.withLock { healthRequests } }

  func ioUringSetup() -> ProbeOutcome { base.ioUringSetup() }
  func ioUringSetupSQPoll() -> ProbeOutcome { base.ioUringSetupSQPoll() }
  func kernelTLSULP() -> ProbeOutcome { base.kernelTLSULP() }
  func affinityCPUs() -> [Int]? { base.affinityCPUs() }
  func openFilesLimit() -> ResourceLimit { base.openFilesLimit() }
  func lockedMemoryLimit() -> ResourceLimit { base.lockedMemoryLimit() }
  func effectiveUserID() -> UInt32 { base.effectiveUserID() }
  func bindLoopback(port: Int) -> ProbeOutcome { base.bindLoopback(port: port) }
  func httpGet(host: String, port: Int, path: String, timeoutMilliseconds: Int) -> HealthProbeResult {
    lock.withLock { healthRequests += 1 }
    return base.httpGet(host: host, port: port, path: path, timeoutMilliseconds: timeoutMilliseconds)
  }
  func tcpListeners(port: Int) -> [PortListener] { base.tcpListeners(port: port) }
  func resolve(host: String) -> HostResolution { base.resolve(host: host) }
  func localAddresses() -> [String]? { base.localAddresses() }
}

final class DoctorBehaviourTests: XCTestCase {
  private func run(_ fixture: String, _ request: DoctorRequest, style: OutputStyle = .plain) -> CommandOutput {
    var request = request
    request.root = Fixtures.directory + "/" + fixture
    return DoctorCommand.run(request, style: style)
  }

  private func json(_ output: CommandOutput) throws -> [String: Any] {
    try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(output.standardOutput.utf8)) as? [String: Any])
  }

  func testOnlySelectsAndStrictTurnsWarningsIntoFailure() throws {
    var request = DoctorRequest()
    request.only = ["ktls_stats"]
    request.json = true
    let lenient = run("ktls-loaded", request)
    XCTAssertEqual(lenient.exitCode, 0)
    let checks = try XCTUnwrap(try json(lenient)["checks"] as? [[String: Any]])
    XCTAssertEqual(checks.map { $0["code"] as? String }, ["KTLS_STATS"])
    XCTAssertEqual(checks.first?["status"] as? String, "warning")
    XCTAssertNotNil(checks.first?["fix"] as? String)
    request.strict = true
    XCTAssertEqual(run("ktls-loaded", request).exitCode, 1)
  }

  func testFailedPrerequisiteMarksDependentsSkipped() throws {
    var request = DoctorRequest()
    request.only = ["IOURING_SETUP,IOURING_SQPOLL"]
    let output = run("iouring-disabled", request)
    // IOURING_DISABLED ran (as a prerequisite) but is not shown.
    XCTAssertFalse(output.standardOutput.contains("IOURING_DISABLED  "))
    XCTAssertTrue(output.standardOutput.contains("[skip] IOURING_SETUP          skipped: needs IOURING_DISABLED, which failed"))
    XCTAssertTrue(output.standardOutput.contains("[skip] IOURING_SQPOLL         skipped: needs IOURING_SETUP, which was skipped"))
    XCTAssertEqual(output.exitCode, 0, "skipped checks are not failures")
  }

  func testSkipAvoidsTheProbe() throws {
    let root = FileSystemRoot(directory: Fixtures.directory + "/intel-16vcpu-smt")
    let probes = CountingProbes(try FixtureHostProbes(root: root))
    let environment = OpsEnvironment(root: root, probes: probes)
    _ = DoctorCommand.run(environment: environment, configPath: nil, options: DoctorOptions(skip: [.relayHealth, .tlsCertServed]), json: false, style: .plain)
    XCTAssertEqual(probes.healthRequestCount, 0)
    let output = DoctorCommand.run(environment: environment, configPath: nil, options: DoctorOptions(), json: false, style: .plain)
    XCTAssertEqual(probes.healthRequestCount, 1)
    XCTAssertTrue(output.standardOutput.contains("[ok]   RELAY_HEALTH"))
  }

  func testUnknownCodeIsAUsageErrorWithSuggestion() {
    var request = DoctorRequest()
    request.skip = ["KTLS_MODUL"]
    let output = run("live-2vcpu", request)
    XCTAssertEqual(output.exitCode, CommandOutput.usageExitCode)
    XCTAssertTrue(output.standardError.contains("did you mean KTLS_MODULE?"), output.standardError)
  }

  func testListChecksNamesEveryCodeOnce() throws {
    var request = DoctorRequest()
    request.listChecks = true
    let text = DoctorCommand.run(request, style: .plain).standardOutput
    for code in CheckCode.allCases {
      XCTAssertEqual(text.components(separatedBy: "  \(code.rawValue) ").count, 2, code.rawValue)
    }
    request.json = true
    let list = try XCTUnwrap(
      try JSONSerialization.jsonObject(with: Data(DoctorCommand.run(request, style: .plain).standardOutput.utf8)) as? [[String: Any]])
    XCTAssertEqual(list.count, CheckCode.allCases.count)
  }

  func testEveryFailureCarriesAFix() throws {
    for name in Fixtures.names {
      let context = DoctorContext(environment: try Fixtures.environment(name), loaded: LoadedConfig.load(path: nil, root: try Fixtures.environment(name).root))
      for result in Doctor.run(context, options: DoctorOptions()).results
      where result.outcome.status == .error || result.outcome.status == .warning {
        XCTAssertFalse(result.outcome.fix?.isEmpty ?? true, "\(name) \(result.code) has no fix")
      }
    }
  }

  func testPlainIsASCIIAndRichUsesMarksAndColour() {
    let plain = run("amd-2socket-smt", DoctorRequest()).standardOutput
    XCTAssertTrue(plain.allSatisfy(\.isASCII))
    XCTAssertTrue(plain.contains("[warn] PIN_CORES"))
    let rich = run("amd-2socket-smt", DoctorRequest(), style: .rich).standardOutput
    XCTAssertTrue(rich.contains("\u{1B}[33m!\u{1B}[0m PIN_CORES"))
    XCTAssertTrue(rich.contains("✓"))
    XCTAssertTrue(rich.contains("≥"))
  }

  func testExplicitConfigPathAndBrokenConfig() throws {
    let directory = try copyFixture("live-2vcpu")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try FileManager.default.createDirectory(atPath: directory + "/srv", withIntermediateDirectories: true)
    try "port: 443\nworkerz: 2\n".write(toFile: directory + "/srv/relay.yaml", atomically: true, encoding: .utf8)
    var request = DoctorRequest(configPath: "/srv/relay.yaml", root: directory)
    request.only = ["CONFIG", "PORT_PRIVILEGE"]
    let output = DoctorCommand.run(request, style: .plain)
    XCTAssertEqual(output.exitCode, 1)
    XCTAssertTrue(output.standardOutput.contains("[FAIL] CONFIG                 /srv/relay.yaml:2: "), output.standardOutput)
    XCTAssertFalse(output.standardOutput.contains(directory), "fixture paths must not leak into messages")
    XCTAssertTrue(output.standardOutput.contains("fix: hdctl check-config /srv/relay.yaml"))
    XCTAssertTrue(output.standardOutput.contains("port 443 below 1024 needs CAP_NET_BIND_SERVICE: this process has it"))
    // A missing explicit path is an error, not silently the defaults.
    request.configPath = "/srv/missing.yaml"
    XCTAssertEqual(DoctorCommand.run(request, style: .plain).exitCode, 1)
  }

  func testCertificateChecksAreCheckConfigsOwn() throws {
    let directory = try copyFixture("ktls-loaded")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let environment = try OpsEnvironment.forRoot(directory)
    func tlsCert() -> CheckOutcome {
      let context = DoctorContext(environment: environment, loaded: LoadedConfig.load(path: nil, root: environment.root))
      return Doctor.run(context, options: DoctorOptions(only: [.tlsCert])).results[0].outcome
    }
    let good = tlsCert()
    XCTAssertEqual(good.status, .ok)
    XCTAssertEqual(
      good.fact, "tls_cert /etc/hyper-derp/tls.crt and tls_key /etc/hyper-derp/tls.key load, match and do not expire within 14 days")

    try FileManager.default.copyItem(atPath: Fixtures.directory + "/certs/other.key", toPath: directory + "/etc/hyper-derp/other.key")
    try "port: 443\ntls_cert: tls.crt\ntls_key: other.key\n".write(
      toFile: directory + "/etc/hyper-derp/hyper-derp.yaml", atomically: true, encoding: .utf8)
    let mismatch = tlsCert()
    XCTAssertEqual(mismatch.status, .error)
    XCTAssertTrue(mismatch.fact.contains("does not belong to the certificate '/etc/hyper-derp/tls.crt'"), mismatch.fact)
    XCTAssertFalse(mismatch.fact.contains(directory), "fixture paths must not leak: \(mismatch.fact)")
    XCTAssertEqual(mismatch.fix, "hdctl check-config /etc/hyper-derp/hyper-derp.yaml")

    try FileManager.default.removeItem(atPath: directory + "/etc/hyper-derp/tls.crt")
    XCTAssertTrue(tlsCert().fact.contains("'/etc/hyper-derp/tls.crt' does not exist"), tlsCert().fact)
  }
}
