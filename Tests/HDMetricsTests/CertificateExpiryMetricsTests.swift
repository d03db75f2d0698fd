// hyper_derp_tls_cert_expiry_timestamp_seconds and /health's tls_certificates
// for a real relay on loopback serving certificates made with OpenSSL for the
// test: one with 3 days left (reported, /health stays 200), an expired one
// (/health 503), and a renewal written over the same path then picked up by
// a SIGHUP-style reload (the gauge moves). The metrics listener's own
// certificate is reported under listener="metrics".
import Foundation
import HDClient
import HDConfig
import HDProtocol
import HDRelay
import HDTLS
import XCTest

@testable import HDMetrics

final class CertificateExpiryMetricsTests: XCTestCase {
  private var directory = ""

  override func setUpWithError() throws {
    directory = NSTemporaryDirectory() + "hd-expiry-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  }

  override func tearDown() {
    try? FileManager.default.removeItem(atPath: directory)
  }

  private var certPath: String { directory + "/cert.pem" }
  private var keyPath: String { directory + "/key.pem" }

  @discardableResult
  private func writeCertificate(days: Double) throws -> SelfSignedCertificate {
    let seconds = Int(days * 86_400)
    let certificate = try SelfSignedCertificate.make(
      ipAddresses: ["127.0.0.1"], notBeforeOffsetSeconds: min(-3600, seconds - 3600), notAfterOffsetSeconds: seconds)
    try Data(certificate.privateKeyPEM).write(to: URL(fileURLWithPath: keyPath))
    try Data(certificate.certificatePEM).write(to: URL(fileURLWithPath: certPath))
    return certificate
  }

  private func harness() throws -> MetricsRelayHarness {
    try MetricsRelayHarness(workers: 1) { [certPath, keyPath] in
      $0.tlsCert = certPath
      $0.tlsKey = keyPath
      $0.ktls = .off
    }
  }

  private func health(_ harness: MetricsRelayHarness) throws -> (status: Int, body: [String: Any]) {
    let response = try httpGet(port: harness.metricsPort, path: "/health")
    let body = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
    return (response.status, body)
  }

  private static let expiryDERP = "hyper_derp_tls_cert_expiry_timestamp_seconds{listener=\"derp\"}"

  func testCertificateExpiringInThreeDaysIsReportedWithoutFailingHealth() throws {
    // Half a day over, so whole days left are 3 however long the test takes.
    let certificate = try writeCertificate(days: 3.5)
    let relay = try harness()
    let scrape = try relay.scrape()
    XCTAssertEqual(scrape[Self.expiryDERP], Double(certificate.notAfter))
    XCTAssertNil(scrape["hyper_derp_tls_cert_expiry_timestamp_seconds{listener=\"metrics\"}"], "metrics is plain HTTP")
    XCTAssertEqual(PrometheusValidation.strictProblems(scrape.text), [])

    let (status, body) = try health(relay)
    XCTAssertEqual(status, 200)
    XCTAssertEqual(body["status"] as? String, "ok")
    let entries = try XCTUnwrap(body["tls_certificates"] as? [[String: Any]])
    XCTAssertEqual(entries.count, 1)
    XCTAssertEqual(entries[0]["listener"] as? String, "derp")
    XCTAssertEqual(entries[0]["days_left"] as? Int, 3)
    XCTAssertEqual(entries[0]["expired"] as? Bool, false)
    XCTAssertEqual(entries[0]["self_signed"] as? Bool, true)
    XCTAssertEqual(entries[0]["pin"] as? String, certificate.pin.certName)
    XCTAssertEqual(entries[0]["not_after"] as? String, UTCDate.formatTimestamp(certificate.notAfter))
    XCTAssertEqual((body["checks"] as? [String: Bool])?["derp_certificate_not_expired"], true)
  }

  func testExpiredDERPCertificateFailsHealth() throws {
    try writeCertificate(days: -1.5)
    let relay = try harness()
    let (status, body) = try health(relay)
    XCTAssertEqual(status, 503)
    XCTAssertEqual(body["status"] as? String, "failing")
    let entry = try XCTUnwrap((body["tls_certificates"] as? [[String: Any]])?.first)
    XCTAssertEqual(entry["expired"] as? Bool, true)
    XCTAssertEqual(entry["days_left"] as? Int, -2)  // floor of -1.5 days
    XCTAssertEqual((body["checks"] as? [String: Bool])?["derp_certificate_not_expired"], false)
  }

  func testRenewalOverTheSamePathMovesTheGaugeOnReload() throws {
    let first = try writeCertificate(days: 10)
    let relay = try harness()
    XCTAssertEqual(try relay.scrape()[Self.expiryDERP], Double(first.notAfter))
    // certbot's way: new files under the unchanged paths, then a reload.
    let renewed = try writeCertificate(days: 90)
    var config = Config(port: 0, bind: ["127.0.0.1"], tlsCert: certPath, tlsKey: keyPath, ktls: .off)
    config.metrics = relay.metrics.config
    let logs = LogLines()
    let reloader = ConfigReloader(
      initial: config, logSink: LogSink(level: .warning, format: .text, output: .fileDescriptor(2))
    ) { [config] in (config, []) }
    let tls = try XCTUnwrap(relay.relay.options.tls as? RelayTLS)
    reloader.register(tls.reloadHook(log: { _, line in logs.append(line) }))
    XCTAssertEqual(reloader.reload(), .unchanged, "no setting changed, but the files did")
    XCTAssertEqual(try relay.scrape()[Self.expiryDERP], Double(renewed.notAfter))
    XCTAssertTrue(logs.text.contains(renewed.pin.certName), logs.text)
    let entry = try XCTUnwrap((try health(relay).body["tls_certificates"] as? [[String: Any]])?.first)
    XCTAssertEqual(entry["pin"] as? String, renewed.pin.certName)
    // A renewal that does not load keeps the served certificate and its gauge.
    try "garbage\n".write(toFile: certPath, atomically: true, encoding: .utf8)
    guard case .rejected = reloader.reload() else { return XCTFail("a broken certificate must be rejected") }
    XCTAssertEqual(try relay.scrape()[Self.expiryDERP], Double(renewed.notAfter))
  }

  /// GET over HTTPS, trusting only `pin` (so the answer proves which certificate was served).
  private func httpsGet(port: Int, path: String, pin: CertificatePin) throws -> String {
    let fd = try TCPConnector.connect(host: "127.0.0.1", port: UInt16(port))
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let stream = try TLSClientStream(fileDescriptor: fd, options: TLSClientOptions(pinnedCertificate: pin))
    try Array("GET \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8).withUnsafeBytes {
      try stream.write($0)
    }
    var answer: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16_384)
    while true {
      let n = try buffer.withUnsafeMutableBytes { try stream.read(into: $0) }
      if n == 0 { break }
      answer += buffer.prefix(n)
    }
    return String(decoding: answer, as: UTF8.self)
  }

  func testMetricsCertificateIsServedReportedAndReloadedInPlace() throws {
    _ = signal(SIGPIPE, SIG_IGN)
    let first = try writeCertificate(days: 10)
    let config = Config(
      metrics: MetricsConfig(port: 0, bind: ["127.0.0.1"], tlsCert: certPath, tlsKey: keyPath))
    let server = try MetricsServer(
      config: config, source: FakeMetricsSource(), build: BuildInfo(version: "t"), logger: Logger(label: "t"))
    try server.start()
    defer { server.stop() }
    let port = try XCTUnwrap(server.boundPorts.first)
    let series = "hyper_derp_tls_cert_expiry_timestamp_seconds{listener=\"metrics\"} "
    XCTAssertTrue(try httpsGet(port: port, path: "/metrics", pin: first.pin).contains(series + "\(first.notAfter)\n"))

    let renewed = try writeCertificate(days: 60)
    let logs = LogLines()
    let reloader = ConfigReloader(
      initial: config, logSink: LogSink(level: .warning, format: .text, output: .fileDescriptor(2))
    ) { [config] in (config, []) }
    reloader.register(server.reloadHook(log: { logs.append($0) }))
    XCTAssertEqual(reloader.reload(), .unchanged)
    XCTAssertTrue(logs.text.contains("reload: metrics TLS certificate"), logs.text)
    XCTAssertTrue(try httpsGet(port: port, path: "/metrics", pin: renewed.pin).contains(series + "\(renewed.notAfter)\n"))
    XCTAssertThrowsError(try httpsGet(port: port, path: "/health", pin: first.pin), "the old certificate is gone")

    // A broken file keeps the served certificate.
    try "garbage\n".write(toFile: keyPath, atomically: true, encoding: .utf8)
    guard case .rejected(let reason) = reloader.reload() else { return XCTFail("a broken key must be rejected") }
    XCTAssertTrue(reason.contains("keeping the previous metrics certificate"), reason)
    XCTAssertTrue(try httpsGet(port: port, path: "/health", pin: renewed.pin).contains("\"listener\":\"metrics\""))
  }

  func testMetricsListenerCertificateIsExposed() throws {
    let certificate = try writeCertificate(days: 20)
    let context = try MetricsTLSContext(certificatePath: certPath, keyPath: keyPath)
    XCTAssertEqual(context.leaf?.notAfter, certificate.notAfter)
    let metrics = CollectedMetrics.collect(
      from: FakeMetricsSource(), server: MetricsServerCounters(), build: BuildInfo(version: "t"),
      kernelTLSSetting: "off", metricsCertificate: context.leaf)
    let text = MetricsExposition.render(metrics)
    XCTAssertTrue(
      text.contains("hyper_derp_tls_cert_expiry_timestamp_seconds{listener=\"metrics\"} \(certificate.notAfter)\n"), text)
    let body = String(decoding: HealthReport.response(metrics, state: .serving, uptimeSeconds: 1).body, as: UTF8.self)
    XCTAssertTrue(body.contains("\"listener\":\"metrics\""), body)
  }
}

/// Log lines collected from a hook's log closure (any thread).
final class LogLines: @unchecked Sendable {
  private let lock = NSLock()
  private var lines: [String] = []

  func append(_ line: String) { lock.withLock { lines.append(line) } }
  var text: String { lock.withLock { lines.joined(separator: "\n") } }
}
