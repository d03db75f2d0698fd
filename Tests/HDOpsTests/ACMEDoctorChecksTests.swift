// hdctl doctor's ACME prerequisites: challenge ports, who holds them (real
// loopback listeners: this test process, a real hyper-derp), the cache
// directory, DNS against this host's addresses, and privileged ports under an
// installed unit. Each check is made to pass and to fail.
import Foundation
import Glibc
import HDConfig
import XCTest

@testable import HDOps

/// A TCP listener on 127.0.0.1 held by this test process.
private final class LoopbackListener {
  let fd: Int32
  let port: Int

  init() throws { (fd, port) = try listenOnLoopback() }

  deinit { close(fd) }
}

/// The live probes with recorded answers for DNS, addresses and listeners.
private struct ScriptedNetworkProbes: HostProbes {
  let live = LiveHostProbes()
  var names: [String: HostResolution] = [:]
  var addresses: [String]? = ["127.0.0.1", "::1", "192.0.2.10"]
  var listeners: [Int: [PortListener]] = [:]

  func ioUringSetup() -> ProbeOutcome { live.ioUringSetup() }
  func ioUringSetupSQPoll() -> ProbeOutcome { live.ioUringSetupSQPoll() }
  func kernelTLSULP() -> ProbeOutcome { live.kernelTLSULP() }
  func affinityCPUs() -> [Int]? { live.affinityCPUs() }
  func openFilesLimit() -> ResourceLimit { live.openFilesLimit() }
  func lockedMemoryLimit() -> ResourceLimit { live.lockedMemoryLimit() }
  func effectiveUserID() -> UInt32 { live.effectiveUserID() }
  func bindLoopback(port: Int) -> ProbeOutcome { live.bindLoopback(port: port) }
  func httpGet(host: String, port: Int, path: String, timeoutMilliseconds: Int) -> HealthProbeResult {
    live.httpGet(host: host, port: port, path: path, timeoutMilliseconds: timeoutMilliseconds)
  }
  func tcpListeners(port: Int) -> [PortListener] { listeners[port] ?? [] }
  func resolve(host: String) -> HostResolution { names[host] ?? .unavailable("Temporary failure in name resolution") }
  func localAddresses() -> [String]? { addresses }
}

final class ACMEDoctorChecksTests: XCTestCase {
  private var directory = ""

  override func setUpWithError() throws {
    directory = NSTemporaryDirectory() + "hdops-acme-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  }

  override func tearDown() {
    try? FileManager.default.removeItem(atPath: directory)
  }

  private func acmeConfig(
    port: Int = 443, domains: [String] = ["localhost"], ipAddresses: [String] = [],
    challenges: [ACMEChallengeType] = [.tlsALPN01, .http01], httpPort: Int = 80, cacheDir: String? = nil
  ) -> Config {
    var config = Config()
    config.port = port
    config.acme = ACMEConfig(
      domains: domains, ipAddresses: ipAddresses, cacheDir: cacheDir ?? directory + "/acme", challenges: challenges,
      httpPort: httpPort)
    return config
  }

  private func check(
    _ code: CheckCode, _ config: Config, environment: OpsEnvironment = .live
  ) -> CheckOutcome {
    let context = DoctorContext(
      environment: environment, loaded: LoadedConfig(config: config, path: nil, diagnostics: []))
    return Doctor.run(context, options: DoctorOptions(only: [code])).results[0].outcome
  }

  private func scripted(_ probes: ScriptedNetworkProbes) -> OpsEnvironment {
    OpsEnvironment(root: .live, probes: probes)
  }

  // MARK: ACME_CHALLENGE_PORTS

  func testChallengesOnTheStandardPortsPass() {
    let outcome = check(.acmeChallengePorts, acmeConfig())
    XCTAssertEqual(outcome.status, .ok, outcome.fact)
    XCTAssertEqual(
      outcome.fact, "tls-alpn-01 on the DERP port 443, http-01 on acme.http_port 80: the ports the CA validates on")
  }

  func testChallengesOnOtherPortsWarnAndNameTheForwarding() throws {
    let outcome = check(.acmeChallengePorts, acmeConfig(port: 8443, httpPort: 8080))
    XCTAssertEqual(outcome.status, .warning, outcome.fact)
    XCTAssertTrue(outcome.fact.contains("tls-alpn-01: the CA connects to port 443 but the DERP port is 8443"), outcome.fact)
    XCTAssertTrue(outcome.fact.contains("http-01: the CA connects to port 80 but acme.http_port is 8080"), outcome.fact)
    let fix = try XCTUnwrap(outcome.fix)
    XCTAssertTrue(fix.contains("port: 443 (or forward TCP 443 to 8443)"), fix)
    XCTAssertTrue(fix.contains("acme.http_port: 80"), fix)
    XCTAssertFalse(fix.contains("acme.challenges"), "no challenge is reachable directly: \(fix)")

    // tls-alpn-01 comes first but is unreachable; http-01 on 80 is fine: naming it alone is a fix.
    let mixed = check(.acmeChallengePorts, acmeConfig(port: 8443, httpPort: 80))
    XCTAssertEqual(mixed.status, .warning, mixed.fact)
    XCTAssertTrue(mixed.fix?.hasSuffix("or acme.challenges: [http-01] to use only what the CA reaches directly") == true, mixed.fix ?? "")
  }

  func testWithoutACMEEveryACMECheckIsSkipped() {
    for code in [CheckCode.acmeChallengePorts, .acmePortsFree, .acmeCacheDir, .acmeDNS] {
      XCTAssertEqual(check(code, Config()).status, .skipped, code.rawValue)
    }
  }

  // MARK: ACME_PORTS_FREE

  func testAPortHeldByAnotherProcessFailsAndAFreeOnePasses() throws {
    let listener = try LoopbackListener()
    let held = check(.acmePortsFree, acmeConfig(port: listener.port, challenges: [.tlsALPN01], httpPort: 0))
    XCTAssertEqual(held.status, .error, held.fact)
    XCTAssertTrue(held.fact.hasPrefix("port \(listener.port) is held by "), held.fact)
    XCTAssertTrue(held.fact.contains("(pid \(getpid()))"), held.fact)
    XCTAssertTrue(held.fix?.contains("ss -ltnp 'sport = :\(listener.port)'") == true, held.fix ?? "")

    // The same port as acme.http_port (http-01 only): the same finding, named by its setting.
    let asHTTP = check(.acmePortsFree, acmeConfig(port: 443, challenges: [.http01], httpPort: listener.port))
    XCTAssertEqual(asHTTP.status, .error, asHTTP.fact)
    XCTAssertTrue(asHTTP.fact.hasPrefix("acme.http_port \(listener.port) is held by "), asHTTP.fact)

    let free = check(.acmePortsFree, acmeConfig(port: freeLoopbackPortNumber(), challenges: [.tlsALPN01], httpPort: 0))
    XCTAssertEqual(free.status, .ok, free.fact)
    XCTAssertTrue(free.fact.hasSuffix(" free"), free.fact)
  }

  func testAPortHeldByTheRelayItselfPasses() throws {
    let binary = relayBinaryPath()
    guard FileManager.default.isExecutableFile(atPath: binary) else {
      XCTFail("hyper-derp binary not found at \(binary): run `swift build` before `swift test`")
      return
    }
    let port = freeLoopbackPortNumber()
    let configPath = directory + "/relay.yaml"
    try "port: \(port)\nbind: [\"127.0.0.1\"]\nworkers: 1\n".write(toFile: configPath, atomically: true, encoding: .utf8)
    let relay = Process()
    relay.executableURL = URL(fileURLWithPath: binary)
    relay.arguments = ["--config", configPath]
    relay.standardError = FileHandle.nullDevice
    relay.standardOutput = FileHandle.nullDevice
    try relay.run()
    defer {
      relay.terminate()
      relay.waitUntilExit()
    }
    let deadline = Date().addingTimeInterval(20)
    while LiveHostProbes().tcpListeners(port: port).isEmpty && Date() < deadline && relay.isRunning {
      Thread.sleep(forTimeInterval: 0.05)
    }
    let outcome = check(.acmePortsFree, acmeConfig(port: port, challenges: [.tlsALPN01], httpPort: 0))
    XCTAssertEqual(outcome.status, .ok, outcome.fact)
    XCTAssertEqual(outcome.fact, "port \(port) held by hyper-derp (pid \(relay.processIdentifier)), the relay itself")
  }

  func testAListenerWhoseProcessCannotBeSeenWarns() {
    var probes = ScriptedNetworkProbes()
    probes.listeners[443] = [PortListener(pid: nil, command: nil)]
    let outcome = check(.acmePortsFree, acmeConfig(httpPort: 0), environment: scripted(probes))
    XCTAssertEqual(outcome.status, .warning, outcome.fact)
    XCTAssertEqual(outcome.fact, "port 443 in use by a process this user cannot see")
  }

  // MARK: ACME_CACHE_DIR

  func testCacheDirectoryWritableMissingOrNotADirectory() throws {
    let writable = check(.acmeCacheDir, acmeConfig(cacheDir: directory))
    XCTAssertEqual(writable.status, .ok, writable.fact)
    XCTAssertTrue(writable.fact.hasPrefix("acme.cache_dir \(directory) writable for uid "), writable.fact)

    let missing = check(.acmeCacheDir, acmeConfig(cacheDir: directory + "/acme"))
    XCTAssertEqual(missing.status, .ok, missing.fact)
    XCTAssertTrue(missing.fact.contains("missing, its parent writable (the relay creates it)"), missing.fact)

    let file = directory + "/not-a-directory"
    try "x".write(toFile: file, atomically: true, encoding: .utf8)
    let broken = check(.acmeCacheDir, acmeConfig(cacheDir: file))
    XCTAssertEqual(broken.status, .error, broken.fact)
    XCTAssertTrue(broken.fact.contains("exists but is not a directory"), broken.fact)
    XCTAssertNotNil(broken.fix)

    let orphan = check(.acmeCacheDir, acmeConfig(cacheDir: file + "/acme"))
    XCTAssertEqual(orphan.status, .error, orphan.fact)
  }

  // MARK: ACME_DNS

  func testNamesResolvingToThisHostPassOnTheRealResolver() {
    // localhost resolves from /etc/hosts, to loopback, which every host has (no DNS server here).
    // check-config would refuse the one-label name; the config is built in code to reach the resolver.
    let outcome = check(.acmeDNS, acmeConfig(domains: ["localhost"], ipAddresses: ["127.0.0.1"]))
    XCTAssertEqual(outcome.status, .ok, outcome.fact)
    XCTAssertEqual(outcome.fact, "localhost, 127.0.0.1 resolve to an address of this host")
  }

  func testNamesElsewhereOrMissingWarnAndNoDNSIsOnlyReported() {
    var probes = ScriptedNetworkProbes()
    probes.names["relay.example.com"] = .addresses(["192.0.2.10"])
    probes.names["other.example.com"] = .addresses(["198.51.100.7", "2001:DB8::7"])
    probes.names["gone.example.com"] = .unknownName("Name or service not known")
    let here = check(.acmeDNS, acmeConfig(domains: ["relay.example.com"]), environment: scripted(probes))
    XCTAssertEqual(here.status, .ok, here.fact)

    let elsewhere = check(
      .acmeDNS, acmeConfig(domains: ["relay.example.com", "other.example.com"], ipAddresses: ["203.0.113.1"]),
      environment: scripted(probes))
    XCTAssertEqual(elsewhere.status, .warning, elsewhere.fact)
    XCTAssertTrue(elsewhere.fact.hasPrefix("other.example.com → 198.51.100.7, 2001:DB8::7; 203.0.113.1 is not an address"), elsewhere.fact)
    XCTAssertTrue(elsewhere.fact.contains("none an address of this host (192.0.2.10)"), elsewhere.fact)

    let gone = check(.acmeDNS, acmeConfig(domains: ["gone.example.com"]), environment: scripted(probes))
    XCTAssertEqual(gone.status, .warning, gone.fact)
    XCTAssertTrue(gone.fact.hasPrefix("does not resolve: gone.example.com (Name or service not known)"), gone.fact)

    // No DNS answer at all: reported, not failed.
    let unchecked = check(
      .acmeDNS, acmeConfig(domains: ["relay.example.com", "unanswered.example.com"]), environment: scripted(probes))
    XCTAssertEqual(unchecked.status, .skipped, unchecked.fact)
    XCTAssertEqual(
      unchecked.fact,
      "relay.example.com resolve to this host; cannot check unanswered.example.com (Temporary failure in name resolution): no DNS answer here")
  }

  // MARK: PORT_PRIVILEGE under the installed unit

  func testUnitWithoutTheBindCapabilityFailsForTheHTTPChallengePort() throws {
    let root = try copyFixture("iouring-disabled")
    defer { try? FileManager.default.removeItem(atPath: root) }
    let environment = try OpsEnvironment.forRoot(root)
    var config = acmeConfig(port: 3340, challenges: [.http01], httpPort: 80)
    config.acme.cacheDir = "/var/lib/hyper-derp/acme"
    XCTAssertEqual(check(.portPrivilege, config, environment: environment).status, .ok)

    try FileManager.default.createDirectory(atPath: root + "/etc/systemd/system", withIntermediateDirectories: true)
    let unit = root + "/etc/systemd/system/hyper-derp.service"
    try "[Service]\nExecStart=/usr/local/bin/hyper-derp\nDynamicUser=yes\n".write(
      toFile: unit, atomically: true, encoding: .utf8)
    let refused = check(.portPrivilege, config, environment: environment)
    XCTAssertEqual(refused.status, .error, refused.fact)
    XCTAssertTrue(refused.fact.hasPrefix("acme.http_port 80 below ip_unprivileged_port_start (1024), but "
      + "/etc/systemd/system/hyper-derp.service runs the relay as a DynamicUser without CAP_NET_BIND_SERVICE"), refused.fact)
    XCTAssertTrue(refused.fix?.contains("AmbientCapabilities=CAP_NET_BIND_SERVICE") == true, refused.fix ?? "")

    try "[Service]\nDynamicUser=yes\nAmbientCapabilities=CAP_NET_BIND_SERVICE\n".write(
      toFile: unit, atomically: true, encoding: .utf8)
    XCTAssertEqual(check(.portPrivilege, config, environment: environment).status, .ok)
  }

  // MARK: helpers

  /// `<scratch>/debug/hyper-derp`, next to the running test bundle.
  private func relayBinaryPath() -> String {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var dir = (exe as NSString).deletingLastPathComponent
    if dir.hasSuffix(".xctest") { dir = (dir as NSString).deletingLastPathComponent }
    return dir + "/hyper-derp"
  }

  /// A port nothing listens on right now (bound to 0, read back, closed).
  private func freeLoopbackPortNumber() -> Int {
    let listener = try? LoopbackListener()
    return listener?.port ?? 0
  }
}
