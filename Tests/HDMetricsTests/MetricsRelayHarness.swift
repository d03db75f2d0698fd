// A real relay on loopback (io_uring workers, port 0) with a metrics server
// reading it, plus DERP clients from HDClient.
import Foundation
import HDClient
import HDConfig
import HDMetrics
import HDProtocol
import HDRelay
import XCTest

final class MetricsRelayHarness {
  let relay: Relay
  let relayPort: UInt16
  let metrics: MetricsServer
  let metricsPort: Int

  init(workers: Int = 2, debugEndpoints: Bool = true, _ configure: (inout Config) -> Void = { _ in }) throws {
    var config = Config(port: 0, bind: ["127.0.0.1"])
    config.metrics = MetricsConfig(port: 0, bind: ["127.0.0.1"], debugEndpoints: debugEndpoints)
    configure(&config)
    let quiet = Logger(
      label: "metrics-relay-test", sink: LogSink(level: .warning, format: .text, output: .fileDescriptor(2)))
    let serverKeys = DERPKeyPair.generate()
    relay = try Relay(
      options: RelayOptions(
        config: config, serverKeyPair: serverKeys, workerCount: workers,
        tls: try RelayTLS.make(config: config, serverKey: serverKeys.publicKey),
        log: { level, message in quiet.log(level, message) }))
    try relay.start()
    relayPort = UInt16(relay.boundPorts[0])
    metrics = try MetricsServer(config: config, source: relay, build: BuildInfo(version: "test"), logger: quiet)
    try metrics.start()
    metrics.setReady()
    metricsPort = metrics.boundPorts[0]
  }

  deinit {
    metrics.stop()
    relay.stop(graceSeconds: 1)
  }

  func connect(keys: DERPKeyPair = .generate()) throws -> DERPClient {
    var options = DERPClientOptions()
    options.readTimeoutSeconds = 5
    return try DERPClient.connect(host: "127.0.0.1", port: relayPort, keys: keys, options: options)
  }

  func scrape() throws -> Scrape {
    let response = try httpGet(port: metricsPort, path: "/metrics")
    XCTAssertEqual(response.status, 200)
    return Scrape(response.bodyText)
  }

  /// Scrapes until `done` holds (counters of completed sends are recorded when
  /// the kernel reports completion, which can trail what the client saw), and
  /// returns the last scrape either way so the caller's assertions report it.
  func scrape(until done: (Scrape) -> Bool, timeoutSeconds: Double = 5) throws -> Scrape {
    let deadline = Date().addingTimeInterval(timeoutSeconds)
    var last = try scrape()
    while !done(last) && Date() < deadline {
      usleep(20_000)
      last = try scrape()
    }
    return last
  }
}

extension DERPClient {
  /// Receives until a RecvPacket arrives; other frames are kept for later.
  func receivePacket(timeoutSeconds: Double = 5) throws -> (source: DERPKey, packet: [UInt8]) {
    let frame = try receive(
      until: {
        if case .recvPacket = $0 { return true }
        return false
      }, timeoutSeconds: timeoutSeconds)
    guard case .recvPacket(let source, let packet) = frame else { throw DERPClientError.timedOut }
    return (source, packet)
  }
}

/// A disco-looking packet (magic `TS💬`, ≥ 62 bytes), as magicsock sends.
func discoPacket(bytes: Int = 80) -> [UInt8] {
  [0x54, 0x53, 0xf0, 0x9f, 0x92, 0xac] + [UInt8](repeating: 7, count: bytes - 6)
}
