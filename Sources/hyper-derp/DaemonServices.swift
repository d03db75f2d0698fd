// What the daemon runs: the relay (with TLS on the DERP port when tls_cert and
// tls_key are set), the metrics server when metrics.port is set, and the STUN
// responder when stun_port is set. Started in this order and stopped in
// reverse (STUN, then metrics, so /health reports "draining" while the relay
// flushes).
import HDConfig
import HDMetrics
import HDRelay

enum DaemonServices {
  /// How long the relay may spend flushing queued frames when stopping; well
  /// inside DaemonRunner's overall deadline.
  static let relayGraceSeconds = 3.0

  static func start(_ context: DaemonStartContext) throws -> [any DaemonService] {
    let config = context.config
    // ACME: the cache decides what the DERP port serves at start (a usable
    // cached certificate, or only TLS-ALPN-01 answers until the first order).
    let acme = config.acme.enabled ? try ACMEManager(config: config, logSink: context.logSink) : nil
    // nil = plain TCP; throws on bad cert/key or `ktls: required` without kernel TLS.
    let tls: RelayTLS? =
      if let acme {
        try RelayTLS(
          acmeChallenges: acme.challengeCertificates, certificatePath: acme.cachedCertificate?.certificatePath,
          keyPath: acme.cachedCertificate?.keyPath, ktls: config.ktls, serverKey: context.serverKeyPair.publicKey)
      } else {
        try RelayTLS.make(config: config, serverKey: context.serverKeyPair.publicKey)
      }
    let relayLog = Logger(label: "relay", sink: context.logSink)
    var options = RelayOptions(
      config: config, serverKeyPair: context.serverKeyPair, workerCount: context.workerPlan.workerCount,
      pinCores: context.workerPlan.pinCores.isEmpty ? nil : context.workerPlan.pinCores, tls: tls,
      log: { level, message in relayLog.log(level, message) })
    if let path = config.mesh.keyFile {
      options.meshKey = try MeshKeyFile.load(path: path)
      relayLog.info("mesh key loaded: clients presenting it are mesh peers (WatchConns, ClosePeer, ForwardPacket)",
                    ["mesh.key_file": path])
    }
    let relay = try Relay(options: options)
    relay.setLogLevel(config.logLevel)
    // The metrics server loads its own certificate before anything listens.
    let metricsLog = Logger(label: "metrics", sink: context.logSink)
    let metrics: MetricsServer? =
      config.metrics.port == 0
      ? nil
      : try MetricsServer(
        config: config, source: relay, build: BuildInfo(version: ProductVersion.current), logger: metricsLog)
    try metrics?.start()
    do {
      try relay.start()
    } catch {
      metrics?.stop()
      throw error
    }
    let stun: STUNServer?
    do {
      stun = try startSTUN(context)
    } catch {
      metrics?.stop()
      relay.stop(graceSeconds: 0)
      throw error
    }
    if let stun { metrics?.attachSTUN(stun) }
    if let acme { metrics?.attachACME(acme) }
    if let acme, let tls {
      do {
        try acme.start(tls: tls)
      } catch {
        stun?.stop(timeoutSeconds: 1)
        metrics?.stop()
        relay.stop(graceSeconds: 0)
        throw error
      }
    }
    metrics?.setReady()

    context.reloader.register(
      ReloadHook(name: "relay log level", keys: ["log_level"]) { _, new in relay.setLogLevel(new.logLevel) })
    // With ACME the certificate is the ACME thread's to replace, not SIGHUP's.
    if let tls, acme == nil {
      context.reloader.register(tls.reloadHook(log: { level, message in relayLog.log(level, message) }))
    }
    if let metrics { context.reloader.register(metrics.reloadHook(log: { metricsLog.info($0) })) }

    var services: [any DaemonService] = [RelayService(relay: relay, graceSeconds: relayGraceSeconds)]
    if let acme { services.append(ACMEService(manager: acme)) }
    if let metrics { services.append(MetricsService(server: metrics)) }
    if let stun { services.append(STUNService(server: stun)) }
    return services
  }

  // MARK: STUN (stun_port; added by the STUN engineer, code in Sources/HDRelay/STUN)

  /// The UDP STUN binding responder on every `bind` address at `stun_port`;
  /// nil when stun_port is 0. Throws when a socket cannot be bound.
  static func startSTUN(_ context: DaemonStartContext) throws -> STUNServer? {
    let log = Logger(label: "stun", sink: context.logSink)
    guard let server = try STUNServer(config: context.config, log: { level, message in log.log(level, message) }) else {
      return nil
    }
    try server.start()
    return server
  }
}

final class STUNService: DaemonService {
  let server: STUNServer
  var serviceName: String { "STUN responder" }

  init(server: STUNServer) { self.server = server }

  func stop() { server.stop(timeoutSeconds: 1) }
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

final class MetricsService: DaemonService {
  let server: MetricsServer
  var serviceName: String { "metrics server" }

  init(server: MetricsServer) { self.server = server }

  func stop() {
    server.setDraining(true)
    server.stop()
  }
}

final class ACMEService: DaemonService {
  let manager: ACMEManager
  var serviceName: String { "ACME client" }

  init(manager: ACMEManager) { self.manager = manager }

  func stop() { manager.stop() }
}
