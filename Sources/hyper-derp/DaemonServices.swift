// What the daemon runs: the relay, and the metrics server when metrics.port is
// set. Started in this order and stopped in reverse (metrics first, so /health
// reports "draining" while the relay flushes).
import HDConfig
import HDMetrics
import HDRelay

enum DaemonServices {
  /// How long the relay may spend flushing queued frames when stopping; well
  /// inside DaemonRunner's overall deadline.
  static let relayGraceSeconds = 3.0

  static func start(_ context: DaemonStartContext) throws -> [any DaemonService] {
    if context.config.metrics.port != 0 {
      throw DaemonServicesError(
        "metrics.port is set, but the metrics server is not wired into the daemon yet (Relay does not provide "
          + "per-worker counters to HDMetrics); start without metrics.port")
    }
    let relayLog = Logger(label: "relay", sink: context.logSink)
    let options = RelayOptions(
      config: context.config, serverKeyPair: context.serverKeyPair, workerCount: context.workerPlan.workerCount,
      pinCores: context.workerPlan.pinCores.isEmpty ? nil : context.workerPlan.pinCores,
      log: { level, message in relayLog.log(level, message) })
    let relay = try Relay(options: options)
    relay.setLogLevel(context.config.logLevel)
    try relay.start()
    context.reloader.register(
      ReloadHook(name: "relay log level", keys: ["log_level"]) { _, new in relay.setLogLevel(new.logLevel) })
    return [RelayService(relay: relay, graceSeconds: relayGraceSeconds)]
  }
}

final class RelayService: DaemonService {
  let relay: Relay
  let graceSeconds: Double
  var serviceName: String { "relay" }

  init(relay: Relay, graceSeconds: Double) {
    self.relay = relay
    self.graceSeconds = graceSeconds
  }

  func stop() { relay.stop(graceSeconds: graceSeconds) }
}

struct DaemonServicesError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

final class MetricsService: DaemonService {
  let server: MetricsServer
  var serviceName: String { "metrics server" }

  init(server: MetricsServer) { self.server = server }

  func stop() {
    server.setDraining(true)
    server.stop()
  }
}
