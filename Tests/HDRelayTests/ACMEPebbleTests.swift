// The relay's ACME client against a real ACME CA (Pebble on loopback, real
// challenge validation against the relay's own ports): issuance by
// TLS-ALPN-01 and HTTP-01, DERP over the issued certificate, renewal while a
// client stays connected, and the failures an operator meets (CA down at
// start, a challenge that fails, a corrupted cache), plus External Account
// Binding and an IP-address certificate.
import Foundation
import HDClient
import HDProtocol
import HDTLS
import XCTest

final class ACMEPebbleTests: XCTestCase {
  private func relayConfig(
    _ tree: TestFixtureTree, pebble: PebbleHarness, port: UInt16, identifiers: String = "domains: [relay.test]",
    extra: String = ""
  ) -> String {
    tree.write(
      "hd.yaml",
      """
      port: \(port)
      bind: ["127.0.0.1"]
      workers: 1
      ktls: off
      acme:
        \(identifiers)
        directory_url: \(pebble.directoryURL)
        directory_ca_file: \(pebble.wfeCertificate)
        cache_dir: \(tree.path("acme-cache"))
      \(extra)
      """)
  }

  /// TLS to the relay trusting only Pebble's root, checking `name`; the leaf's serial.
  private func servedSerial(port: UInt16, root: String, name: String = "relay.test") throws -> String {
    let fd = try TCPConnector.connect(host: "127.0.0.1", port: port, timeoutSeconds: 5)
    let stream = try TLSClientStream(
      fileDescriptor: fd,
      options: TLSClientOptions(
        serverName: name.first!.isNumber ? nil : name, trustedCertificatesFile: root, verifyPeerName: name))
    defer { stream.close() }
    return try XCTUnwrap(stream.peerCertificateSerialHex)
  }

  private func derpClient(port: UInt16, root: String, name: String = "relay.test") throws -> DERPClient {
    try DERPClient.connectTLS(
      host: "127.0.0.1", port: port,
      tls: TLSClientOptions(
        serverName: name.first!.isNumber ? nil : name, trustedCertificatesFile: root, verifyPeerName: name))
  }

  private func exchange(_ a: DERPClient, _ b: DERPClient, _ bytes: [UInt8]) throws {
    try a.send(to: b.publicKey, packet: bytes)
    XCTAssertEqual(try b.receivePacket().packet, bytes)
  }

  /// The serial in the relay's "issued and installed" lines, in order.
  private func issuedSerials(_ daemon: DaemonProcess) -> [String] {
    daemon.stderrLines.filter { $0.contains("issued and installed") }.compactMap { line in
      guard let range = line.range(of: "(serial ") else { return nil }
      return String(line[range.upperBound...].prefix { $0 != "," })
    }
  }

  /// A relay with metrics that got its first certificate by TLS-ALPN-01 from a Pebble issuing `validitySeconds` ones.
  private struct IssuedRelay {
    let tree: TestFixtureTree
    let pebble: PebbleHarness
    let daemon: DaemonProcess
    let port: UInt16
    let metricsPort: UInt16
    /// Pebble's root, for clients.
    let root: String
    let firstSerial: String
  }

  private func startIssuedRelay(validitySeconds: Int) throws -> IssuedRelay {
    let tree = TestFixtureTree()
    let port = freeLoopbackPort()
    let pebble = try PebbleHarness(tree: tree)
    try pebble.start(.init(tlsPort: port, httpPort: freeLoopbackPort(), validitySeconds: validitySeconds))
    let metricsPort = freeLoopbackPort()
    let config = relayConfig(
      tree, pebble: pebble, port: port,
      extra: "  challenges: [tls-alpn-01]\nmetrics:\n  port: \(metricsPort)\n  bind: [\"127.0.0.1\"]")
    let daemon = try DaemonProcess(arguments: ["--config", config])
    XCTAssertTrue(daemon.waitForLog("issued and installed", timeoutSeconds: 30), daemon.stderr + pebble.log)
    return IssuedRelay(
      tree: tree, pebble: pebble, daemon: daemon, port: port, metricsPort: metricsPort,
      root: try pebble.rootCertificateFile(), firstSerial: try XCTUnwrap(issuedSerials(daemon).first))
  }

  func testTLSALPN01IssuesACertificateDERPClientsUseAndRenewsWhileAClientStaysConnected() throws {
    // 15 s certificates: renewal is due two thirds in, 9–10 s after issuance.
    let relay = try startIssuedRelay(validitySeconds: 15)
    let (tree, daemon, port, metricsPort, root) = (relay.tree, relay.daemon, relay.port, relay.metricsPort, relay.root)
    XCTAssertTrue(daemon.stderr.contains("answering tls-alpn-01 for relay.test"), daemon.stderr)
    let first = relay.firstSerial
    XCTAssertEqual(try servedSerial(port: port, root: root), first)
    let health = try loopbackHTTPGet(port: metricsPort, "/health")
    XCTAssertEqual(health.status, 200, health.body)
    XCTAssertTrue(health.body.contains("\"acme\":{\"state\":\"valid\""), health.body)
    XCTAssertTrue(health.body.contains("\"serial\":\"\(first)\""), health.body)
    let scrape = try loopbackHTTPGet(port: metricsPort, "/metrics").body
    XCTAssertTrue(scrape.contains("hyper_derp_acme_certificate_serving 1\n"), scrape)
    XCTAssertTrue(scrape.contains("hyper_derp_acme_certificates_issued_total 1\n"), scrape)
    // The expiry gauge every certificate has, for the ACME one too: its notAfter from the cache file.
    let cached = try CertificateFileReport.read(certificatePath: tree.path("acme-cache/certificate.pem"), keyPath: nil)
    XCTAssertTrue(
      scrape.contains("hyper_derp_tls_cert_expiry_timestamp_seconds{listener=\"derp\"} \(cached.leaf.notAfter)\n"), scrape)
    XCTAssertFalse(scrape.contains("hyper_derp_acme_challenges_answered_total{challenge=\"tls-alpn-01\"} 0\n"), scrape)

    // A client connected before the renewal keeps its connection through it.
    let staying = try derpClient(port: port, root: root)
    let peer = try derpClient(port: port, root: root)
    try exchange(staying, peer, [1, 2, 3])
    XCTAssertTrue(
      daemon.waitForLog("renewal from", timeoutSeconds: 1) && waitUntil(seconds: 30) { self.issuedSerials(daemon).count >= 2 },
      daemon.stderr)
    let second = issuedSerials(daemon)[1]
    XCTAssertNotEqual(first, second)
    let newcomer = try derpClient(port: port, root: root)
    XCTAssertEqual(try servedSerial(port: port, root: root), second, "a new client sees the renewed certificate")
    try exchange(staying, newcomer, [4, 5, 6])
    try exchange(newcomer, staying, [7, 8])
    try exchange(peer, staying, [9])
    let renewed = try loopbackHTTPGet(port: metricsPort, "/metrics").body
    XCTAssertTrue(renewed.contains("hyper_derp_acme_certificates_issued_total 2\n"), renewed)
    [staying, peer, newcomer].forEach { $0.close() }

    let modes = try cacheModes(tree.path("acme-cache"))
    XCTAssertEqual(modes["account.key"], 0o600)
    XCTAssertEqual(modes["certificate.key"], 0o600)
    XCTAssertEqual(modes["certificate.pem"], 0o600)
    daemon.signal(SIGTERM)
    XCTAssertEqual(daemon.waitForExit(timeoutSeconds: 10), 0, daemon.stderr)
    relay.pebble.stop()  // Pebble serves until here
  }

  func testAFailedRenewalKeepsTheCertificateInServiceAndIsLoggedCountedAndInHealth() throws {
    // 30 s certificates: renewal is due 18–20 s after issuance, with 10 s of validity left.
    let relay = try startIssuedRelay(validitySeconds: 30)
    let (pebble, daemon, port, metricsPort, root) = (relay.pebble, relay.daemon, relay.port, relay.metricsPort, relay.root)
    let issued = relay.firstSerial
    let connected = try derpClient(port: port, root: root)
    let peer = try derpClient(port: port, root: root)
    // The CA goes away before the renewal is due.
    pebble.stopPebble()
    XCTAssertTrue(daemon.waitForLog("order for relay.test failed (unreachable)", timeoutSeconds: 30), daemon.stderr)
    let line = try XCTUnwrap(daemon.stderrLines.first { $0.contains("failed (unreachable)") })
    XCTAssertTrue(line.contains("keeping the current certificate (valid until "), line)
    XCTAssertTrue(line.contains("cannot reach the CA at 127.0.0.1:\(pebble.directoryPort)"), line)
    // Still served, still healthy (the certificate is valid), and the failure is visible.
    XCTAssertEqual(try servedSerial(port: port, root: root), issued)
    try exchange(connected, peer, [3, 1, 4])
    let health = try loopbackHTTPGet(port: metricsPort, "/health")
    XCTAssertEqual(health.status, 200, health.body)
    XCTAssertTrue(health.body.contains("\"state\":\"renewal_failing\""), health.body)
    XCTAssertTrue(health.body.contains("\"serial\":\"\(issued)\""), health.body)
    XCTAssertTrue(health.body.contains("cannot reach the CA"), health.body)
    let scrape = try loopbackHTTPGet(port: metricsPort, "/metrics").body
    XCTAssertTrue(scrape.contains("hyper_derp_acme_order_failures_total{reason=\"unreachable\"} 1\n"), scrape)
    XCTAssertTrue(scrape.contains("hyper_derp_acme_certificate_serving 1\n"), scrape)
    connected.close()
    peer.close()
    daemon.signal(SIGTERM)
    XCTAssertEqual(daemon.waitForExit(timeoutSeconds: 10), 0, daemon.stderr)
    pebble.stop()
  }

  func testHTTP01IssuesOnTheHTTPPortWhichRedirectsEverythingElse() throws {
    let tree = TestFixtureTree()
    let port = freeLoopbackPort()
    let httpPort = freeLoopbackPort()
    let pebble = try PebbleHarness(tree: tree)
    try pebble.start(.init(tlsPort: freeLoopbackPort(), httpPort: httpPort))
    let config = relayConfig(
      tree, pebble: pebble, port: port, extra: "  challenges: [http-01]\n  http_port: \(httpPort)")
    let daemon = try DaemonProcess(arguments: ["--config", config])
    XCTAssertTrue(daemon.waitForLog("issued and installed", timeoutSeconds: 30), daemon.stderr + pebble.log)
    XCTAssertTrue(daemon.stderr.contains("answering http-01 for relay.test"), daemon.stderr)
    let root = try pebble.rootCertificateFile()
    let a = try derpClient(port: port, root: root)
    let b = try derpClient(port: port, root: root)
    try exchange(a, b, [42])
    a.close()
    b.close()

    let answer = try rawHTTP(port: httpPort, "GET /some/page?x=1 HTTP/1.1\r\nHost: relay.test\r\n\r\n")
    XCTAssertTrue(answer.hasPrefix("HTTP/1.1 302"), answer)
    XCTAssertTrue(answer.contains("Location: https://relay.test/some/page?x=1\r\n"), answer)
    let unknown = try rawHTTP(port: httpPort, "GET /.well-known/acme-challenge/nope HTTP/1.1\r\nHost: relay.test\r\n\r\n")
    XCTAssertTrue(unknown.hasPrefix("HTTP/1.1 404"), unknown)
    daemon.signal(SIGTERM)
    XCTAssertEqual(daemon.waitForExit(timeoutSeconds: 10), 0, daemon.stderr)
  }

  func testCADownAtStartIsRetriedAndACachedCertificateIsServedWithoutTheCA() throws {
    let tree = TestFixtureTree()
    let port = freeLoopbackPort()
    let pebble = try PebbleHarness(tree: tree)
    let config = relayConfig(tree, pebble: pebble, port: port)
    let daemon = try DaemonProcess(arguments: ["--config", config])
    XCTAssertTrue(daemon.waitForLog("cannot serve TLS to clients"), daemon.stderr)
    XCTAssertTrue(daemon.waitForLog("failed (unreachable)"), daemon.stderr)
    XCTAssertTrue(daemon.stderr.contains("cannot reach the CA at 127.0.0.1:\(pebble.directoryPort)"), daemon.stderr)
    // No certificate: a TLS client is refused, the relay keeps running and retrying.
    XCTAssertThrowsError(try DERPClient.connectTLS(host: "127.0.0.1", port: port))
    try pebble.start(.init(tlsPort: port, httpPort: freeLoopbackPort()))
    XCTAssertTrue(daemon.waitForLog("issued and installed", timeoutSeconds: 40), daemon.stderr + pebble.log)
    let root = try pebble.rootCertificateFile()
    let issued = try servedSerial(port: port, root: root)
    daemon.signal(SIGTERM)
    XCTAssertEqual(daemon.waitForExit(timeoutSeconds: 10), 0, daemon.stderr)

    // The CA is gone; a restart serves the cached certificate at once.
    pebble.stopPebble()
    let restarted = try DaemonProcess(arguments: ["--config", config])
    XCTAssertTrue(restarted.waitForLog("serving the cached certificate for relay.test"), restarted.stderr)
    XCTAssertTrue(restarted.waitForLog("relay listening"), restarted.stderr)
    XCTAssertEqual(try servedSerial(port: port, root: root), issued)
    let a = try derpClient(port: port, root: root)
    let b = try derpClient(port: port, root: root)
    try exchange(a, b, [1])
    a.close()
    b.close()
    restarted.signal(SIGTERM)
    XCTAssertEqual(restarted.waitForExit(timeoutSeconds: 10), 0, restarted.stderr)
  }

  func testAFailingChallengeIsLoggedWithTheDomainAndTheACMEError() throws {
    let tree = TestFixtureTree()
    let port = freeLoopbackPort()
    let pebble = try PebbleHarness(tree: tree)
    // Pebble's VA dials a port where nothing listens instead of the relay's.
    try pebble.start(.init(tlsPort: freeLoopbackPort(), httpPort: freeLoopbackPort()))
    let metricsPort = freeLoopbackPort()
    let config = relayConfig(
      tree, pebble: pebble, port: port,
      extra: "  challenges: [tls-alpn-01]\nmetrics:\n  port: \(metricsPort)\n  bind: [\"127.0.0.1\"]")
    let daemon = try DaemonProcess(arguments: ["--config", config])
    XCTAssertTrue(daemon.waitForLog("order for relay.test failed (challenge)", timeoutSeconds: 30), daemon.stderr)
    let line = try XCTUnwrap(daemon.stderrLines.first { $0.contains("failed (challenge)") })
    // Pebble's words: "urn:ietf:params:acme:error:unauthorized: Failed to connect to 127.0.0.1:… for the tls-alpn-01 challenge".
    XCTAssertTrue(line.contains("challenge tls-alpn-01 for relay.test failed: urn:ietf:params:acme:error:"), line)
    XCTAssertTrue(line.contains("Failed to connect"), line)
    XCTAssertTrue(line.contains("cannot serve TLS to clients"), line)
    XCTAssertTrue(line.contains("retrying in"), line)
    // Visible in /health (503: no TLS client can connect) and counted.
    let health = try loopbackHTTPGet(port: metricsPort, "/health")
    XCTAssertEqual(health.status, 503, health.body)
    XCTAssertTrue(health.body.contains("\"state\":\"no_certificate\""), health.body)
    XCTAssertTrue(health.body.contains("challenge tls-alpn-01 for relay.test failed"), health.body)
    XCTAssertTrue(health.body.contains("\"acme_certificate_serving\":false"), health.body)
    let scrape = try loopbackHTTPGet(port: metricsPort, "/metrics").body
    XCTAssertTrue(scrape.contains("hyper_derp_acme_order_failures_total{reason=\"challenge\"} 1\n"), scrape)
    XCTAssertTrue(scrape.contains("hyper_derp_acme_consecutive_failures 1\n"), scrape)
    XCTAssertTrue(scrape.contains("hyper_derp_acme_certificate_serving 0\n"), scrape)
    daemon.signal(SIGTERM)
    XCTAssertEqual(daemon.waitForExit(timeoutSeconds: 10), 0, daemon.stderr)
  }

  func testACorruptedCachedCertificateIsDetectedNeverServedAndReissued() throws {
    let tree = TestFixtureTree()
    let port = freeLoopbackPort()
    let pebble = try PebbleHarness(tree: tree)
    let cache = tree.path("acme-cache")
    try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
    // A truncated chain and a key that is not PEM: what a full disk or a bad copy leaves.
    _ = tree.write("acme-cache/certificate.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n")
    _ = tree.write("acme-cache/certificate.key", "garbage\n")
    let config = relayConfig(tree, pebble: pebble, port: port)
    let daemon = try DaemonProcess(arguments: ["--config", config])
    XCTAssertTrue(daemon.waitForLog("cached certificate rejected, not served"), daemon.stderr)
    XCTAssertThrowsError(try DERPClient.connectTLS(host: "127.0.0.1", port: port), "nothing is served from a bad cache")
    try pebble.start(.init(tlsPort: port, httpPort: freeLoopbackPort()))
    XCTAssertTrue(daemon.waitForLog("issued and installed", timeoutSeconds: 40), daemon.stderr + pebble.log)
    let root = try pebble.rootCertificateFile()
    XCTAssertEqual(try servedSerial(port: port, root: root), issuedSerials(daemon).first)
    let pem = try String(contentsOfFile: cache + "/certificate.pem", encoding: .utf8)
    XCTAssertTrue(pem.contains("-----END CERTIFICATE-----"))
    daemon.signal(SIGTERM)
    XCTAssertEqual(daemon.waitForExit(timeoutSeconds: 10), 0, daemon.stderr)
  }

  func testExternalAccountBindingAndAnIPAddressCertificate() throws {
    let tree = TestFixtureTree()
    let port = freeLoopbackPort()
    let pebble = try PebbleHarness(tree: tree)
    let macKey = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"
    try pebble.start(.init(tlsPort: port, httpPort: freeLoopbackPort(), externalAccountKeys: ["kid-1": macKey]))

    // Without EAB the CA's requirement is named, with the keys to set.
    let plain = relayConfig(tree, pebble: pebble, port: port, identifiers: "ip_addresses: [127.0.0.1]")
    let refused = try DaemonProcess(arguments: ["--config", plain])
    XCTAssertTrue(refused.waitForLog("requires External Account Binding: set acme.eab_kid"), refused.stderr)
    refused.signal(SIGTERM)
    XCTAssertEqual(refused.waitForExit(timeoutSeconds: 10), 0, refused.stderr)

    let keyFile = tree.write("eab.key", macKey + "\n")
    let config = relayConfig(
      tree, pebble: pebble, port: port, identifiers: "ip_addresses: [127.0.0.1]",
      extra: "  eab_kid: kid-1\n  eab_hmac_key_file: \(keyFile)\n  challenges: [tls-alpn-01]")
    let daemon = try DaemonProcess(arguments: ["--config", config])
    XCTAssertTrue(daemon.waitForLog("issued and installed", timeoutSeconds: 30), daemon.stderr + pebble.log)
    XCTAssertTrue(daemon.stderr.contains("answering tls-alpn-01 for 127.0.0.1"), daemon.stderr)
    let root = try pebble.rootCertificateFile()
    let a = try derpClient(port: port, root: root, name: "127.0.0.1")
    let b = try derpClient(port: port, root: root, name: "127.0.0.1")
    try exchange(a, b, [7, 7])
    a.close()
    b.close()
    daemon.signal(SIGTERM)
    XCTAssertEqual(daemon.waitForExit(timeoutSeconds: 10), 0, daemon.stderr)
  }

  func testTheAccountURLIsCachedReusedAndRegisteredAgainWhenTheCAForgetsIt() throws {
    let tree = TestFixtureTree()
    let port = freeLoopbackPort()
    let pebble = try PebbleHarness(tree: tree)
    let settings = PebbleHarness.Settings(tlsPort: port, httpPort: freeLoopbackPort())
    try pebble.start(settings)
    let config = relayConfig(tree, pebble: pebble, port: port, extra: "  challenges: [tls-alpn-01]")
    let cache = tree.path("acme-cache")
    // Accounts Pebble created: it logs "There are now N accounts in memory"
    // once per registration. (Not the POST /sign-me-up requests: Pebble
    // rejects 5 % of good nonces, and the relay's retry after a badNonce is
    // a second request for the same registration; CI failed on one.)
    func newAccountRequests() -> Int { pebble.log.components(separatedBy: " accounts in memory").count - 1 }
    func issueOnce(expecting logLine: String) throws -> DaemonProcess {
      // No usable certificate in the cache: the relay orders at start.
      unlink(cache + "/certificate.pem")
      let daemon = try DaemonProcess(arguments: ["--config", config])
      XCTAssertTrue(daemon.waitForLog("issued and installed", timeoutSeconds: 30), daemon.stderr + pebble.log)
      XCTAssertTrue(daemon.stderr.contains(logLine), daemon.stderr)
      daemon.signal(SIGTERM)
      XCTAssertEqual(daemon.waitForExit(timeoutSeconds: 10), 0, daemon.stderr)
      return daemon
    }

    let first = try issueOnce(expecting: "ACME account created: ")
    XCTAssertEqual(newAccountRequests(), 1, pebble.log)
    let stored = try String(contentsOfFile: cache + "/account.json", encoding: .utf8)
    let accountURL = try XCTUnwrap(first.stderrLines.first { $0.contains("ACME account created: ") })
      .components(separatedBy: "ACME account created: ")[1]
    XCTAssertTrue(stored.contains("\"account_url\":\"\(accountURL)\""), stored)
    XCTAssertTrue(stored.contains("\"directory_url\":\"\(pebble.directoryURL)\""), stored)
    XCTAssertEqual(try cacheModes(cache)["account.json"], 0o600)

    // A restart orders with the cached account: no second newAccount.
    let second = try issueOnce(expecting: "ACME: account from the cache: \(accountURL)")
    XCTAssertFalse(second.stderr.contains("ACME account created"), second.stderr)
    XCTAssertEqual(newAccountRequests(), 1, pebble.log)

    // Pebble keeps accounts in memory: after its restart the cached URL is
    // unknown (accountDoesNotExist), and the relay registers again.
    pebble.stopPebble()
    try pebble.startPebble(settings)
    let third = try issueOnce(expecting: "does not know the cached account \(accountURL)")
    XCTAssertTrue(third.stderr.contains("ACME account created: "), third.stderr)
    XCTAssertEqual(newAccountRequests(), 2, pebble.log)
    let replaced = try String(contentsOfFile: cache + "/account.json", encoding: .utf8)
    XCTAssertFalse(replaced.contains(accountURL), replaced)
  }

  // MARK: helpers

  private func cacheModes(_ directory: String) throws -> [String: Int] {
    var modes: [String: Int] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
      var info = stat()
      if stat(directory + "/" + name, &info) == 0 { modes[name] = Int(info.st_mode & 0o777) }
    }
    return modes
  }

  private func rawHTTP(port: UInt16, _ request: String) throws -> String {
    let fd = try TCPConnector.connect(host: "127.0.0.1", port: port, timeoutSeconds: 5)
    defer { close(fd) }
    var tv = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    _ = Array(request.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
      let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      if n <= 0 { break }
      out += buffer[0..<n]
    }
    return String(decoding: out, as: UTF8.self)
  }

  private func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
      if condition() { return true }
      Thread.sleep(forTimeInterval: 0.1)
    }
    return condition()
  }
}
