import HDConfig
import HDRelay
import Synchronization

// The metrics/health/debug HTTP(S) server the daemon starts next to the relay.
//
//   let server = try MetricsServer(config: config, source: relay, build: BuildInfo(version: v), logger: log)
//   try server.start()        // binds, then serves on its own thread; /health says "starting" (503)
//   server.attachSTUN(stun)   // once the STUN responder runs: /metrics gains the STUN families
//   server.setReady()         // relay accepts: /health 200
//   server.setDraining(true)  // shutdown began: /health 503 "draining"
//   server.stop()             // joins the thread, closes every socket
#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

public final class MetricsServer: Sendable {
  /// The metrics block of the configuration this server was made from.
  public let config: MetricsConfig
  private let source: any MetricsSource
  private let build: BuildInfo
  /// The `ktls` setting, reported on /health next to the TLS data path in use.
  private let kernelTLSSetting: String
  /// The HTTPS context, nil for plain HTTP; a SIGHUP reload replaces it.
  private let tls: MetricsTLSSlot
  private let logger: Logger
  private let settings: MetricsServerLoop.Settings
  /// `ServingState` raw value index: 0 starting, 1 serving, 2 draining.
  private let state = Atomic<Int>(0)
  private let stopRequested = StopFlag()
  private let running = Mutex<RunningServer?>(nil)
  /// When `start()` ran; fallback for uptime when /proc is unavailable.
  private let startedAtSeconds = Atomic<Int64>(0)
  /// The STUN responder, attached after start (the daemon starts STUN after
  /// this server); read by the metrics thread on every scrape.
  private let stun = Mutex<STUNServer?>(nil)
  /// The ACME client, attached when the acme section is on.
  private let acme = Mutex<ACMEManager?>(nil)

  private struct RunningServer: @unchecked Sendable {
    var thread: pthread_t
    /// Write end of the wake pipe; the loop polls (and closes) the read end.
    var wakeFD: Int32
    var listeners: [ListenSocket]
  }

  /// Loads the metrics TLS certificate when `metrics.tls_cert`/`tls_key` are set.
  /// - Parameters:
  ///   - config: the effective configuration; `config.metrics` configures this
  ///     server, `ktls` is reported on /health.
  ///   - source: the relay (or a test double).
  public convenience init(config: Config, source: any MetricsSource, build: BuildInfo, logger: Logger)
    throws(MetricsServerError)
  {
    try self.init(
      config: config, source: source, build: build, logger: logger, settings: MetricsServerLoop.Settings())
  }

  init(
    config: Config, source: any MetricsSource, build: BuildInfo, logger: Logger, settings: MetricsServerLoop.Settings
  )
    throws(MetricsServerError)
  {
    self.config = config.metrics
    self.source = source
    self.build = build
    self.logger = logger
    self.settings = settings
    kernelTLSSetting = config.ktls.rawValue
    switch (config.metrics.tlsCert, config.metrics.tlsKey) {
    case (let cert?, let key?):
      tls = MetricsTLSSlot(try MetricsTLSContext(certificatePath: cert, keyPath: key))
    case (nil, nil):
      tls = MetricsTLSSlot(nil)
    default:
      throw MetricsServerError("metrics.tls_cert and metrics.tls_key must be set together")
    }
  }

  /// The ports actually bound, one per listening socket (useful with port 0).
  public var boundPorts: [Int] {
    running.withLock { $0?.listeners.map(\.port) ?? [] }
  }

  /// Opens the listening sockets (throws if any address cannot be bound) and
  /// starts serving on a dedicated thread. /health answers 503 until `setReady()`.
  public func start() throws(MetricsServerError) {
    let alreadyRunning = running.withLock { $0 != nil }
    if alreadyRunning { throw MetricsServerError("metrics server already started") }
    let listeners = try ListenSocket.openAll(addresses: config.bind, port: config.port)
    // A pipe rather than an eventfd: eventfd is not visible through Swift's Glibc module.
    var pipeFDs: [Int32] = [-1, -1]
    guard pipe(&pipeFDs) == 0 else {
      let code = errno
      for listener in listeners { close(listener.fd) }
      throw .system("metrics wake pipe", errno: code)
    }
    let (wakeReadFD, wakeFD) = (pipeFDs[0], pipeFDs[1])
    for fd in pipeFDs {
      _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
      _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }
    // OpenSSL writes through write(2): a client gone mid-response must not SIGPIPE the daemon.
    signal(SIGPIPE, SIG_IGN)
    stopRequested.flag.store(false, ordering: .relaxed)
    startedAtSeconds.store(Int64(WallClock.nowSeconds()), ordering: .relaxed)
    let loop = MetricsServerLoop(
      listeners: listeners, wakeFD: wakeReadFD, tls: tls, settings: settings,
      shouldStop: { [stopRequested] in stopRequested.flag.load(ordering: .acquiring) })
    let router = MetricsRouter(debugEndpoints: config.debugEndpoints) { [unowned loop, weak self] route in
      // Weak: the thread must not keep a server alive that its owner dropped
      // (deinit stops the thread).
      guard let self else { return .text(.serviceUnavailable, "metrics server stopping") }
      return self.render(route, counters: loop.counters)
    }
    loop.handler = { (head: HTTPRequestHead) -> HTTPResponse in router.respond(to: head) }
    let thread: pthread_t
    do throws(MetricsServerError) {
      thread = try ServerThread.start(name: "hd-metrics") { loop.run() }
    } catch {
      close(wakeFD)
      close(wakeReadFD)
      for listener in listeners { close(listener.fd) }
      throw error
    }
    running.withLock { $0 = RunningServer(thread: thread, wakeFD: wakeFD, listeners: listeners) }
    let scheme = tls.current == nil ? "http" : "https"
    for listener in listeners {
      logger.info("metrics server listening", ["url": "\(scheme)://\(formatEndpoint(listener.address, listener.port))"])
    }
  }

  /// Stops serving: wakes the thread and waits until it has closed every socket.
  /// Safe to call more than once and before `start()`.
  public func stop() {
    guard
      let server = running.withLock({ state -> RunningServer? in
        defer { state = nil }
        return state
      })
    else { return }
    stopRequested.flag.store(true, ordering: .releasing)
    // Closing the write end wakes the loop's poll (POLLHUP on the read end).
    close(server.wakeFD)
    // The last reference can be dropped on the server thread itself (while a
    // request holds it); that thread cannot join itself: it sees the stop flag
    // and exits on its own. The loop closes its listeners and connections.
    if pthread_equal(server.thread, pthread_self()) != 0 {
      pthread_detach(server.thread)
      return
    }
    pthread_join(server.thread, nil)
  }

  /// SIGHUP: loads `metrics.tls_cert`/`tls_key` again (also when the paths
  /// did not change: a renewal writes new files under the same names) and
  /// serves new connections with them; on failure the old certificate stays.
  /// Switching between HTTP and HTTPS needs a restart.
  public func reloadHook(log: @escaping @Sendable (String) -> Void) -> ReloadHook {
    ReloadHook(name: "metrics TLS certificate", keys: ["metrics.tls_cert", "metrics.tls_key"], rereadsFiles: true) {
      [tls] _, new in
      switch (tls.current, new.metrics.tlsCert, new.metrics.tlsKey) {
      case (nil, nil, nil):
        return
      case (.some, let cert?, let key?):
        let fresh: MetricsTLSContext
        do {
          fresh = try MetricsTLSContext(certificatePath: cert, keyPath: key)
        } catch {
          throw MetricsServerError("\(error); keeping the previous metrics certificate")
        }
        tls.replace(with: fresh)
        if let leaf = fresh.leaf {
          log("reload: metrics TLS certificate \(cert): expires \(UTCDate.format(leaf.notAfter))")
        }
      default:
        throw MetricsServerError(
          "switching the metrics server between HTTP and HTTPS needs a restart; keeping the running metrics server")
      }
    }
  }

  /// Exports `server`'s counters as the `hyper_derp_stun_*` families from the
  /// next scrape on. Any thread; a later call replaces the earlier responder.
  public func attachSTUN(_ server: STUNServer) {
    stun.withLock { $0 = server }
  }

  /// Exports the ACME client's state (`hyper_derp_acme_*`, /health `acme`) from the next scrape on.
  public func attachACME(_ manager: ACMEManager) {
    acme.withLock { $0 = manager }
  }

  /// The relay accepts connections: /health turns 200.
  public func setReady() {
    _ = state.compareExchange(expected: 0, desired: 1, ordering: .relaxed)
  }

  /// Shutdown began (or was called off): /health answers 503 "draining" while true.
  public func setDraining(_ draining: Bool) {
    state.store(draining ? 2 : 1, ordering: .relaxed)
  }

  var servingState: ServingState {
    switch state.load(ordering: .relaxed) {
    case 0: return .starting
    case 1: return .serving
    default: return .draining
    }
  }

  private func render(_ route: MetricsRoute, counters: MetricsServerCounters) -> HTTPResponse {
    if route == .debugPeers { return DebugReports.peers(source.peersSnapshot()) }
    if route == .debugMesh { return DebugReports.mesh(source.meshSnapshot()) }
    // Snapshot outside the lock: statsSnapshot() only does relaxed loads, but
    // attachSTUN() need not wait for it.
    let stunServer = stun.withLock { $0 }
    let acmeManager = acme.withLock { $0 }
    let metrics = CollectedMetrics.collect(
      from: source, server: counters, build: build, kernelTLSSetting: kernelTLSSetting,
      stun: stunServer?.statsSnapshot(), metricsCertificate: tls.current?.leaf, acme: acmeManager?.statusSnapshot())
    switch route {
    case .metrics:
      return HTTPResponse(
        status: .ok, contentType: prometheusContentType, body: Array(MetricsExposition.render(metrics).utf8))
    case .health:
      let startSeconds = metrics.process?.startTimeSeconds ?? Double(startedAtSeconds.load(ordering: .relaxed))
      let uptime = max(0, Int(WallClock.nowSeconds() - startSeconds))
      return HealthReport.response(metrics, state: servingState, uptimeSeconds: uptime)
    case .debugWorkers:
      return DebugReports.workers(metrics)
    case .debugPeers:
      return DebugReports.peers(source.peersSnapshot())
    case .debugMesh:
      return DebugReports.mesh(source.meshSnapshot())
    }
  }

  deinit {
    stop()
  }
}

/// Shared between the server and its loop thread without keeping the server alive.
private final class StopFlag: Sendable {
  let flag = Atomic<Bool>(false)
}
