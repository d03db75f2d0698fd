// hdctl doctor's TLS_CERT_EXPIRY / METRICS_CERT_EXPIRY on certificates
// made with OpenSSL for the test (3 days left, expired, a key of another
// certificate, a normal one), and hdctl cert self-signed writing a pair the
// relay can load, with the pin it prints.
import Foundation
import HDConfig
import HDProtocol
import HDTLS
import XCTest

@testable import HDOps

final class CertificateExpiryTests: XCTestCase {
  private var directory = ""

  override func setUpWithError() throws {
    directory = try copyFixture("ktls-loaded")
  }

  override func tearDown() {
    try? FileManager.default.removeItem(atPath: directory)
  }

  /// Writes the DERP pair the fixture's config names (/etc/hyper-derp/tls.crt, tls.key).
  private func install(_ certificate: SelfSignedCertificate, key: SelfSignedCertificate? = nil) throws {
    try Data(certificate.certificatePEM).write(to: URL(fileURLWithPath: directory + "/etc/hyper-derp/tls.crt"))
    try Data((key ?? certificate).privateKeyPEM).write(to: URL(fileURLWithPath: directory + "/etc/hyper-derp/tls.key"))
  }

  private func check(_ code: CheckCode = .tlsCertExpiry) throws -> CheckOutcome {
    let environment = try OpsEnvironment.forRoot(directory)
    let context = DoctorContext(environment: environment, loaded: LoadedConfig.load(path: nil, root: environment.root))
    return Doctor.run(context, options: DoctorOptions(only: [code])).results[0].outcome
  }

  private func certificate(days: Double) throws -> SelfSignedCertificate {
    try SelfSignedCertificate.make(
      ipAddresses: ["192.0.2.1"], notBeforeOffsetSeconds: min(-3600, Int(days * 86_400) - 3600),
      notAfterOffsetSeconds: Int(days * 86_400))
  }

  func testNormalCertificateIsOkAndNamesThePin() throws {
    let normal = try certificate(days: 90)
    try install(normal)
    let outcome = try check()
    XCTAssertEqual(outcome.status, .ok, outcome.fact)
    XCTAssertTrue(outcome.fact.hasPrefix("tls_cert /etc/hyper-derp/tls.crt valid until "), outcome.fact)
    XCTAssertTrue(outcome.fact.hasSuffix("self-signed, DERP map CertName \(normal.pin.certName)"), outcome.fact)
    XCTAssertFalse(outcome.fact.contains(directory), "fixture paths must not leak")
  }

  func testThreeDaysLeftWarns() throws {
    // Half a day over, so whole days left are 3 however long the test takes.
    try install(try certificate(days: 3.5))
    let outcome = try check()
    XCTAssertEqual(outcome.status, .warning, outcome.fact)
    XCTAssertTrue(outcome.fact.contains("expires on"), outcome.fact)
    XCTAssertTrue(outcome.fact.contains("in 3 days"), outcome.fact)
    XCTAssertTrue(outcome.fix?.contains("hdctl cert self-signed") == true, outcome.fix ?? "")
  }

  func testExpiredCertificateFails() throws {
    try install(try certificate(days: -2.5))
    let outcome = try check()
    XCTAssertEqual(outcome.status, .error, outcome.fact)
    XCTAssertTrue(outcome.fact.contains("expired on"), outcome.fact)
    XCTAssertTrue(outcome.fact.contains("2 days ago"), outcome.fact)
    XCTAssertTrue(outcome.fix?.contains("systemctl reload hyper-derp") == true, outcome.fix ?? "")
  }

  func testKeyOfAnotherCertificateFails() throws {
    try install(try certificate(days: 90), key: try certificate(days: 90))
    let outcome = try check()
    XCTAssertEqual(outcome.status, .error, outcome.fact)
    XCTAssertTrue(outcome.fact.contains("tls_key /etc/hyper-derp/tls.key does not belong to tls_cert"), outcome.fact)
  }

  func testUnsetAndUnreadableCertificates() throws {
    XCTAssertEqual(try check(.metricsCertExpiry), .ok("metrics.tls_cert not set: no certificate to expire"))
    try "garbage\n".write(toFile: directory + "/etc/hyper-derp/tls.crt", atomically: true, encoding: .utf8)
    let outcome = try check()
    XCTAssertEqual(outcome.status, .skipped, outcome.fact)
    XCTAssertTrue(outcome.fact.contains("TLS_CERT says why"), outcome.fact)
  }

  func testDoctorExitCodeFollowsExpiry() throws {
    var request = DoctorRequest(configPath: nil, root: directory)
    request.only = ["TLS_CERT_EXPIRY"]
    try install(try certificate(days: 3.5))
    XCTAssertEqual(DoctorCommand.run(request, style: .plain).exitCode, 0, "a warning alone does not fail")
    request.strict = true
    XCTAssertEqual(DoctorCommand.run(request, style: .plain).exitCode, 1)
    request.strict = false
    try install(try certificate(days: -1))
    XCTAssertEqual(DoctorCommand.run(request, style: .plain).exitCode, 1)
  }

  // MARK: ACME: the certificate in acme.cache_dir

  /// Turns the fixture's config from tls_cert/tls_key to ACME; returns the cache directory (real path).
  private func switchToACME() throws -> String {
    let path = directory + "/etc/hyper-derp/hyper-derp.yaml"
    let kept = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
      .filter { !$0.hasPrefix("tls_cert:") && !$0.hasPrefix("tls_key:") && !$0.hasPrefix("ktls:") }
    let acme = ["acme:", "  domains: [relay.example.com]", "  cache_dir: /var/lib/hyper-derp/acme"]
    try (kept.map(String.init) + acme).joined(separator: "\n").appending("\n")
      .write(toFile: path, atomically: true, encoding: .utf8)
    let cache = directory + "/var/lib/hyper-derp/acme"
    try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
    return cache
  }

  func testACMECertificateInTheCacheIsCheckedForExpiry() throws {
    let cache = try switchToACME()
    let none = try check()
    XCTAssertEqual(none.status, .ok, none.fact)
    XCTAssertTrue(none.fact.hasPrefix("no ACME certificate in acme.cache_dir yet"), none.fact)

    func cacheCertificate(days: Double) throws {
      let made = try certificate(days: days)
      try Data(made.certificatePEM).write(to: URL(fileURLWithPath: cache + "/certificate.pem"))
      try Data(made.privateKeyPEM).write(to: URL(fileURLWithPath: cache + "/certificate.key"))
    }
    try cacheCertificate(days: 60)
    let fine = try check()
    XCTAssertEqual(fine.status, .ok, fine.fact)
    XCTAssertTrue(fine.fact.hasPrefix("ACME certificate /var/lib/hyper-derp/acme/certificate.pem valid until "), fine.fact)

    try cacheCertificate(days: 3.5)
    let soon = try check()
    XCTAssertEqual(soon.status, .warning, soon.fact)
    XCTAssertTrue(soon.fact.contains("in 3 days"), soon.fact)
    XCTAssertTrue(soon.fix?.contains("the relay renews it by itself") == true, soon.fix ?? "")
    XCTAssertTrue(soon.fix?.contains("acme.last_error") == true, soon.fix ?? "")

    try cacheCertificate(days: -1.5)
    let expired = try check()
    XCTAssertEqual(expired.status, .error, expired.fact)
    XCTAssertTrue(expired.fact.contains("expired on"), expired.fact)
  }

  // MARK: TLS_CERT_SERVED

  /// Records the relay's /health answer in the fixture's probes.json.
  private func recordHealth(servedNotAfter: Int64?, pin: String?) throws {
    let path = directory + "/probes.json"
    var probes = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    var body: [String: Any] = ["status": "ok"]
    if let servedNotAfter {
      let entry: [String: Any] = [
        "listener": "derp", "not_after": UTCDate.formatTimestamp(servedNotAfter), "pin": pin.map { $0 as Any } ?? NSNull(),
      ]
      body["tls_certificates"] = [entry]
    }
    let bodyText = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
    probes["health"] = ["status": 200, "body": bodyText]
    try JSONSerialization.data(withJSONObject: probes).write(to: URL(fileURLWithPath: path))
  }

  func testServedCertificateMatchesTheFile() throws {
    let current = try certificate(days: 90)
    try install(current)
    try recordHealth(servedNotAfter: current.notAfter, pin: current.pin.certName)
    let outcome = try check(.tlsCertServed)
    XCTAssertEqual(outcome.status, .ok, outcome.fact)
    XCTAssertTrue(outcome.fact.contains("serves tls_cert /etc/hyper-derp/tls.crt as on disk"), outcome.fact)
  }

  func testRenewedFileNotYetReloadedWarns() throws {
    let old = try certificate(days: 5)
    let renewed = try certificate(days: 90)
    try install(renewed)
    try recordHealth(servedNotAfter: old.notAfter, pin: old.pin.certName)
    let outcome = try check(.tlsCertServed)
    XCTAssertEqual(outcome.status, .warning, outcome.fact)
    XCTAssertTrue(outcome.fact.contains("the DERP map pin becomes \(renewed.pin.certName)"), outcome.fact)
    XCTAssertTrue(outcome.fix?.hasPrefix("systemctl reload hyper-derp") == true, outcome.fix ?? "")
  }

  func testHealthWithoutCertificatesIsSkipped() throws {
    try install(try certificate(days: 90))
    try recordHealth(servedNotAfter: nil, pin: nil)
    XCTAssertEqual(try check(.tlsCertServed).status, .skipped)
  }

  // MARK: hdctl cert self-signed

  func testSelfSignedWritesAPairTheRelayLoadsAndPrintsItsPin() throws {
    let out = directory + "/etc/hyper-derp/self"
    var request = SelfSignedCertRequest(outputDirectory: out)
    request.ipAddresses = ["192.0.2.7", "2001:db8::7"]
    request.hostNames = ["relay.example.net"]
    request.days = 30
    let output = SelfSignedCertCommand.run(request)
    XCTAssertEqual(output.exitCode, 0, output.standardError)
    var status = stat()
    XCTAssertEqual(stat(out + "/key.pem", &status), 0)
    XCTAssertEqual(status.st_mode & 0o777, 0o600)
    let report = try CertificateFileReport.read(certificatePath: out + "/cert.pem", keyPath: out + "/key.pem")
    XCTAssertEqual(report.keyMatches, true)
    XCTAssertTrue(report.leaf.selfSigned)
    let firstLine = String(output.standardOutput.prefix { $0 != "\n" })
    XCTAssertEqual(firstLine, report.leaf.pin.certName, "the first line is the pin, for scripts")
    XCTAssertTrue(output.standardOutput.contains("\"CertName\": \"\(report.leaf.pin.certName)\""))
    XCTAssertEqual(report.leaf.notAfter - report.leaf.notBefore, 30 * 86_400 + 3_600)
    // The server context the relay builds accepts the pair.
    _ = try TLSServerContext(certificatePath: out + "/cert.pem", keyPath: out + "/key.pem", serverKey: .zero)

    let again = SelfSignedCertCommand.run(request)
    XCTAssertEqual(again.exitCode, 1)
    XCTAssertTrue(again.standardError.contains("use --force"), again.standardError)
    request.replaceExisting = true
    let replaced = SelfSignedCertCommand.run(request)
    XCTAssertEqual(replaced.exitCode, 0, replaced.standardError)
    XCTAssertNotEqual(String(replaced.standardOutput.prefix { $0 != "\n" }), firstLine, "a new certificate, a new pin")
  }

  func testSelfSignedRefusesBadInput() {
    var request = SelfSignedCertRequest(outputDirectory: directory + "/x")
    XCTAssertEqual(SelfSignedCertCommand.run(request).exitCode, CommandOutput.usageExitCode)
    request.ipAddresses = ["192.0.2.300"]
    XCTAssertTrue(SelfSignedCertCommand.run(request).standardError.contains("not an IPv4 or IPv6 address"))
    request.ipAddresses = ["192.0.2.3"]
    request.hostNames = ["bad,name"]
    XCTAssertTrue(SelfSignedCertCommand.run(request).standardError.contains("not a DNS name"))
    request.hostNames = []
    request.days = 0
    XCTAssertTrue(SelfSignedCertCommand.run(request).standardError.contains("--days 0"))
    XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/x"), "nothing written on bad input")
  }
}
