// The metrics server against a fake source: HTTP behaviour, endpoints,
// Prometheus validity, deadlines, the connection cap and HTTPS.
import Foundation
import HDConfig
import HDRelay
import XCTest

@testable import HDMetrics

final class MetricsServerTests: XCTestCase {
  private func startServer(
    debugEndpoints: Bool = false, tlsCert: String? = nil, tlsKey: String? = nil,
    settings: MetricsServerLoop.Settings = MetricsServerLoop.Settings(), source: FakeMetricsSource = FakeMetricsSource()
  ) throws -> (MetricsServer, Int) {
    let config = Config(
      metrics: MetricsConfig(
        port: 0, bind: ["127.0.0.1"], tlsCert: tlsCert, tlsKey: tlsKey, debugEndpoints: debugEndpoints))
    let server = try MetricsServer(
      config: config, source: source, build: BuildInfo(version: "9.9.9-test"), logger: Logger(label: "metrics-test"),
      settings: settings)
    try server.start()
    addTeardownBlock { server.stop() }
    let port = try XCTUnwrap(server.boundPorts.first)
    XCTAssertNotEqual(port, 0)
    return (server, port)
  }

  func testScrapeParsesWithPrometheusClientAndPassesStrictChecks() throws {
    let (_, port) = try startServer()
    let response = try httpGet(port: port, path: "/metrics")
    XCTAssertEqual(response.status, 200)
    XCTAssertEqual(response.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8")
    XCTAssertEqual(PrometheusValidation.strictProblems(response.bodyText), [])
    let families = try PrometheusValidation.parseWithPrometheusClient(response.bodyText)
    // The fake's two workers: 1000 + 2000 bytes received, 2000 + 4000 sent.
    XCTAssertEqual(PrometheusValidation.value(families, "hyper_derp_recv_bytes_total"), 3000)
    XCTAssertEqual(PrometheusValidation.value(families, "hyper_derp_send_bytes_total"), 6000)
    XCTAssertEqual(PrometheusValidation.value(families, "hyper_derp_worker_recv_bytes_total", ["worker": "1"]), 2000)
    XCTAssertEqual(PrometheusValidation.value(families, "hyper_derp_workers"), 2)
    XCTAssertEqual(PrometheusValidation.value(families, "hyper_derp_peers_active"), 3)
    XCTAssertEqual(PrometheusValidation.value(families, "hyper_derp_build_info", ["version": "9.9.9-test"]), 1)
    XCTAssertEqual(families["hyper_derp_recv_bytes"]?.type, "counter")
    XCTAssertEqual(families["hyper_derp_peers_active"]?.type, "gauge")
    // Every reason × kind pair exists from zero.
    let dropped = try XCTUnwrap(families["hyper_derp_packets_dropped"])
    XCTAssertEqual(dropped.samples.count, DropReason.allCases.count * PacketKind.allCases.count)
    XCTAssertTrue(dropped.samples.allSatisfy { $0.value == 0 })
    for reason in DropReason.allCases {
      for kind in PacketKind.allCases {
        XCTAssertNotNil(
          PrometheusValidation.value(
            families, "hyper_derp_packets_dropped_total", ["reason": reason.label, "kind": kind.label]))
      }
    }
    // Process metrics reflect this process.
    XCTAssertGreaterThan(PrometheusValidation.value(families, "process_open_fds") ?? 0, 3)
    XCTAssertGreaterThan(PrometheusValidation.value(families, "process_resident_memory_bytes") ?? 0, 1_048_576)
    XCTAssertNotNil(PrometheusValidation.value(families, "process_cpu_seconds_total"))
    XCTAssertNotNil(PrometheusValidation.value(families, "process_start_time_seconds"))
    // Every family has help text.
    for (name, family) in families { XCTAssertFalse(family.help.isEmpty, name) }
  }

  func testStrictChecksCatchBrokenExposition() {
    XCTAssertFalse(PrometheusValidation.strictProblems("a_total 1\n").isEmpty)
    XCTAssertFalse(
      PrometheusValidation.strictProblems("# HELP a x\n# TYPE a gauge\na 1\na 2\n").isEmpty)
    XCTAssertFalse(PrometheusValidation.strictProblems("# HELP a x\n# TYPE a counter\na 1\n").isEmpty)
    XCTAssertEqual(PrometheusValidation.strictProblems("# HELP a x\n# TYPE a gauge\na{k=\"1\"} 1\na{k=\"2\"} 2\n"), [])
  }

  func testKeepAliveHeadAnd404And405() throws {
    let (_, port) = try startServer()
    let client = try RawHTTPClient(port: port)
    client.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    let full = try client.readResponse()
    XCTAssertEqual(full.headers["connection"], "keep-alive")
    client.send("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    let head = try client.readResponse(bodyExpected: false)
    XCTAssertEqual(head.status, 200)
    XCTAssertTrue(head.body.isEmpty)
    // Same document shape, so nearly the same length (values may change between the two).
    XCTAssertGreaterThan(Int(head.headers["content-length"] ?? "") ?? 0, 1000)
    client.send("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
    XCTAssertEqual(try client.readResponse().status, 404)
    client.send("DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    let notAllowed = try client.readResponse()
    XCTAssertEqual(notAllowed.status, 405)
    XCTAssertEqual(notAllowed.headers["allow"], "GET, HEAD")
    // Pipelined: two requests in one write, two answers in order.
    client.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    XCTAssertEqual(try client.readResponse().status, 503)  // Not ready yet.
    let last = try client.readResponse()
    XCTAssertEqual(last.status, 404)
    XCTAssertEqual(last.headers["connection"], "close")
    XCTAssertTrue(client.isClosedByPeer())
  }

  func testHealthFollowsLifecycle() throws {
    let (server, port) = try startServer()
    var health = try httpGet(port: port, path: "/health")
    XCTAssertEqual(health.status, 503)
    var json = try jsonObject(health)
    XCTAssertEqual(json["status"] as? String, "starting")
    server.setReady()
    health = try httpGet(port: port, path: "/health")
    XCTAssertEqual(health.status, 200)
    XCTAssertEqual(health.headers["content-type"], "application/json")
    json = try jsonObject(health)
    XCTAssertEqual(json["status"] as? String, "ok")
    XCTAssertEqual(json["workers"] as? Int, 2)
    XCTAssertEqual(json["peers_active"] as? Int, 3)
    XCTAssertEqual(json["recv_bytes"] as? Int, 3000)
    XCTAssertEqual(json["send_bytes"] as? Int, 6000)
    XCTAssertEqual(json["tls_mode"] as? String, "plain")
    XCTAssertNotNil(json["uptime_seconds"] as? Int)
    // Informational: one of two mesh links down does not fail the check.
    XCTAssertEqual(json["mesh_peers"] as? [String: Int], ["configured": 2, "connected": 1])
    let checks = try XCTUnwrap(json["checks"] as? [String: Bool])
    XCTAssertEqual(
      checks, ["started": true, "not_draining": true, "workers_running": true, "derp_certificate_not_expired": true])
    XCTAssertEqual((json["tls_certificates"] as? [Any])?.count, 0, "plain TCP: no certificate")
    server.setDraining(true)
    health = try httpGet(port: port, path: "/health")
    XCTAssertEqual(health.status, 503)
    XCTAssertEqual(try jsonObject(health)["status"] as? String, "draining")
    XCTAssertEqual(try httpGet(port: port, path: "/health", method: "HEAD").status, 503)
  }

  func testDebugEndpointsAre404UnlessEnabled() throws {
    let (_, closedPort) = try startServer(debugEndpoints: false)
    XCTAssertEqual(try httpGet(port: closedPort, path: "/debug/workers").status, 404)
    XCTAssertEqual(try httpGet(port: closedPort, path: "/debug/peers").status, 404)
    XCTAssertEqual(try httpGet(port: closedPort, path: "/debug/peers", method: "POST").status, 404)

    let (_, openPort) = try startServer(debugEndpoints: true)
    let workers = try jsonObject(try httpGet(port: openPort, path: "/debug/workers"))
    let list = try XCTUnwrap(workers["workers"] as? [[String: Any]])
    XCTAssertEqual(list.count, 2)
    XCTAssertEqual(list[1]["id"] as? Int, 1)
    XCTAssertEqual(list[1]["recv_bytes"] as? Int, 2000)
    XCTAssertEqual(list[0]["pinned_core"] as? Int, 0)
    XCTAssertTrue(list[1]["pinned_core"] is NSNull)
    let peers = try jsonObject(try httpGet(port: openPort, path: "/debug/peers"))
    XCTAssertEqual(peers["count"] as? Int, 1)
    let peer = try XCTUnwrap((peers["peers"] as? [[String: Any]])?.first)
    XCTAssertEqual((peer["key"] as? String)?.count, 64)
    XCTAssertEqual(peer["remote_address"] as? String, "127.0.0.1:5555")
    XCTAssertEqual(peer["transport"] as? String, "plain")
    XCTAssertEqual(peer["queued_packets"] as? Int, 3)
  }

  func testMalformedAndOversizedRequestsGet400And431AndAreCounted() throws {
    let (_, port) = try startServer()
    let malformed = try RawHTTPClient(port: port)
    malformed.send("GARBAGE\r\n\r\n")
    let bad = try malformed.readResponse()
    XCTAssertEqual(bad.status, 400)
    XCTAssertEqual(bad.headers["connection"], "close")
    XCTAssertTrue(malformed.isClosedByPeer())

    let oversized = try RawHTTPClient(port: port)
    oversized.send("GET /metrics HTTP/1.1\r\nHost: x\r\nCookie: " + String(repeating: "c", count: 20_000) + "\r\n\r\n")
    XCTAssertEqual(try oversized.readResponse().status, 431)
    XCTAssertTrue(oversized.isClosedByPeer())

    // The server still serves, and counted both.
    let families = try PrometheusValidation.parseWithPrometheusClient(
      try httpGet(port: port, path: "/metrics").bodyText)
    XCTAssertEqual(PrometheusValidation.value(families, "hyper_derp_metrics_http_responses_total", ["code": "400"]), 1)
    XCTAssertEqual(PrometheusValidation.value(families, "hyper_derp_metrics_http_responses_total", ["code": "431"]), 1)
  }

  func testReadDeadlineSends408ToAStalledRequestAndClosesIdleConnections() throws {
    var settings = MetricsServerLoop.Settings()
    settings.limits.readTimeoutNanoseconds = 300_000_000
    let (_, port) = try startServer(settings: settings)
    let stalled = try RawHTTPClient(port: port)
    stalled.send("GET /metrics HTTP/1.1\r\nHost: x\r\n")  // Head never finishes.
    XCTAssertEqual(try stalled.readResponse().status, 408)
    XCTAssertTrue(stalled.isClosedByPeer())
    let idle = try RawHTTPClient(port: port)
    XCTAssertTrue(idle.isClosedByPeer())
    // A slow client did not stop others from being served meanwhile.
    XCTAssertEqual(try httpGet(port: port, path: "/metrics").status, 200)
  }

  func testConnectionCapClosesExtraConnectionsButKeepsServing() throws {
    var settings = MetricsServerLoop.Settings()
    settings.maxConnections = 2
    let (_, port) = try startServer(settings: settings)
    let first = try RawHTTPClient(port: port)
    let second = try RawHTTPClient(port: port)
    // Make sure both are accepted before the third arrives.
    first.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    second.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    _ = try first.readResponse()
    _ = try second.readResponse()
    let third = try RawHTTPClient(port: port)
    XCTAssertTrue(third.isClosedByPeer())
    first.send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    let families = try PrometheusValidation.parseWithPrometheusClient(try first.readResponse().bodyText)
    XCTAssertEqual(PrometheusValidation.value(families, "hyper_derp_metrics_connections_rejected_total"), 1)
  }

  func testHTTPSWithItsOwnCertificate() throws {
    let directory = try TestCertificate.makeDirectory()
    let (server, port) = try startServer(tlsCert: directory.cert, tlsKey: directory.key)
    server.setReady()
    let script = """
      import ssl, sys, urllib.request
      ctx = ssl.create_default_context(cafile=sys.argv[1])
      for path in ("/metrics", "/health"):
          with urllib.request.urlopen("https://localhost:%s%s" % (sys.argv[2], path), context=ctx, timeout=5) as r:
              print(r.status, len(r.read()))
      """
    let result = try runProcess("/usr/bin/env", ["python3", "-c", script, directory.cert, String(port)])
    XCTAssertEqual(result.status, 0, result.stderr)
    let lines = String(decoding: result.stdout, as: UTF8.self).split(separator: "\n")
    XCTAssertEqual(lines.count, 2)
    XCTAssertTrue(lines.allSatisfy { $0.hasPrefix("200 ") })
    // Plain HTTP on the HTTPS port is refused (TLS alert / close), never answered in clear.
    let plain = try RawHTTPClient(port: port)
    plain.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    XCTAssertThrowsError(try plain.readResponse())
  }

  func testStartFailsClearlyOnBadCertificateOrBusyPort() throws {
    let missing = Config(
      metrics: MetricsConfig(port: 0, bind: ["127.0.0.1"], tlsCert: "/nonexistent.pem", tlsKey: "/nonexistent.key"))
    XCTAssertThrowsError(
      try MetricsServer(
        config: missing, source: FakeMetricsSource(), build: BuildInfo(version: "t"), logger: Logger(label: "t"))
    ) { error in
      XCTAssertTrue("\(error)".contains("metrics.tls_cert '/nonexistent.pem'"), "\(error)")
    }
    let (_, port) = try startServer()
    let busy = try MetricsServer(
      config: Config(metrics: MetricsConfig(port: port, bind: ["127.0.0.1"])), source: FakeMetricsSource(),
      build: BuildInfo(version: "t"), logger: Logger(label: "t"))
    XCTAssertThrowsError(try busy.start()) { error in
      XCTAssertTrue("\(error)".contains("127.0.0.1:\(port)"), "\(error)")
    }
  }

  func testSeveralBindAddressesShareOnePortIncludingIPv6() throws {
    let config = Config(metrics: MetricsConfig(port: 0, bind: ["127.0.0.1", "::1"]))
    let server = try MetricsServer(
      config: config, source: FakeMetricsSource(), build: BuildInfo(version: "t"), logger: Logger(label: "t"))
    try server.start()
    defer { server.stop() }
    let ports = server.boundPorts
    XCTAssertEqual(ports.count, 2)
    XCTAssertEqual(Set(ports).count, 1)
    XCTAssertEqual(try httpGet(port: ports[0], path: "/metrics").status, 200)
    let script = """
      import http.client, sys
      c = http.client.HTTPConnection("::1", int(sys.argv[1]), timeout=5)
      c.request("GET", "/metrics"); r = c.getresponse(); r.read(); print(r.status)
      """
    let result = try runProcess("/usr/bin/env", ["python3", "-c", script, String(ports[1])])
    XCTAssertEqual(String(decoding: result.stdout, as: UTF8.self), "200\n", result.stderr)
    // A bind list with something that is not an IP literal is refused with the value named.
    let bad = try MetricsServer(
      config: Config(metrics: MetricsConfig(port: 0, bind: ["localhost"])), source: FakeMetricsSource(),
      build: BuildInfo(version: "t"), logger: Logger(label: "t"))
    XCTAssertThrowsError(try bad.start()) { XCTAssertTrue("\($0)".contains("'localhost'"), "\($0)") }
  }

  func testClientsThatResetMidResponseDoNotHurtTheServer() throws {
    let (_, port) = try startServer()
    for _ in 0..<30 {
      let client = try RawHTTPClient(port: port)
      client.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
      // Close with RST at once, so the server's write hits a dead socket (EPIPE/ECONNRESET).
      var linger = linger(l_onoff: 1, l_linger: 0)
      setsockopt(client.fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
    }
    // Half a request, then gone.
    let half = try RawHTTPClient(port: port)
    half.send("GET /metr")
    XCTAssertEqual(try httpGet(port: port, path: "/metrics").status, 200)
    XCTAssertEqual(try httpGet(port: port, path: "/health").status, 503)
  }

  func testOutOfDescriptorsPausesAcceptingWithoutSpinningThenRecovers() throws {
    let (_, port) = try startServer()
    var saved = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved)
    // Use up every descriptor number below a lowered limit, then free one for
    // the client's socket: the server's accept(2) fails with EMFILE while the
    // connection waits in the backlog.
    let probe = open("/dev/null", O_RDONLY)
    close(probe)
    var tight = saved
    tight.rlim_cur = rlim_t(probe + 64)
    XCTAssertEqual(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &tight), 0)
    var fillers: [Int32] = []
    var restored = false
    func restore() {
      for fd in fillers { close(fd) }
      fillers = []
      setrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved)
      restored = true
    }
    defer { if !restored { restore() } }
    while true {
      let fd = open("/dev/null", O_RDONLY)
      if fd < 0 { break }
      fillers.append(fd)
    }
    XCTAssertEqual(errno, EMFILE)
    close(fillers.removeLast())
    let client = try RawHTTPClient(port: port)
    client.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    var usageBefore = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usageBefore)
    usleep(600_000)
    var usageAfter = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usageAfter)
    restore()
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
    let cpuSeconds =
      seconds(usageAfter.ru_utime) + seconds(usageAfter.ru_stime) - seconds(usageBefore.ru_utime)
      - seconds(usageBefore.ru_stime)
    // A loop that re-polled the readable listener at once would burn the whole 0.6 s.
    XCTAssertLessThan(cpuSeconds, 0.1)
    // With descriptors back, the waiting connection is accepted and answered.
    XCTAssertEqual(try client.readResponse().status, 200)
  }

  func testStopClosesTheListenerAndCanBeRepeated() throws {
    let (server, port) = try startServer()
    XCTAssertEqual(try httpGet(port: port, path: "/metrics").status, 200)
    server.stop()
    server.stop()
    XCTAssertThrowsError(try RawHTTPClient(port: port))
  }

  private func jsonObject(_ response: RawHTTPResponse) throws -> [String: Any] {
    try XCTUnwrap(JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
  }
}
