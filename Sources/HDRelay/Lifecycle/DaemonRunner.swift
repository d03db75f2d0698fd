// The daemon's life from a parsed command line to exit: prepare the process
// (signals, file limit, key, worker plan), start the services, tell systemd,
// then handle signals in this one thread until a stop is requested.
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import HDConfig
import HDProtocol
import Synchronization

public final class DaemonRunner {
  /// The longest a graceful stop may take before the daemon exits anyway.
  public static let defaultStopTimeoutSeconds = 10.0

  let invocation: DaemonInvocation
  let logSink: LogSink
  let notifier: SystemdNotifier
  let stopTimeoutSeconds: Double
  let checkOptions: ConfigCheckOptions
  let log: Logger

  /// - Parameter checkOptions: how a SIGHUP reload validates the file; the
  ///   same checks as at start-up (referenced files, host) by default.
  public init(
    invocation: DaemonInvocation, logSink: LogSink = .standard, notifier: SystemdNotifier = SystemdNotifier(),
    stopTimeoutSeconds: Double = DaemonRunner.defaultStopTimeoutSeconds,
    checkOptions: ConfigCheckOptions = ConfigCheckOptions()
  ) {
    self.checkOptions = checkOptions
    self.invocation = invocation
    self.logSink = logSink
    self.notifier = notifier
    self.stopTimeoutSeconds = stopTimeoutSeconds
    log = Logger(label: "daemon", sink: logSink)
  }

  /// Runs until SIGTERM/SIGINT. Returns the process exit status.
  /// - Parameter startServices: starts the relay and its companions and returns
  ///   them in start order (they are stopped in reverse order).
  public func run(startServices: (DaemonStartContext) throws -> [any DaemonService]) -> Int32 {
    let config = invocation.config
    logSink.setLevel(config.logLevel)
    logSink.setFormat(config.logFormat)
    // Before any thread exists, so every thread inherits the blocked mask.
    SignalWaiter.blockDaemonSignals()

    for diagnostic in invocation.diagnostics where !diagnostic.isError {
      log.warning(DiagnosticRenderer.human(diagnostic))
    }
    raiseFileLimit()
    let keyPair: DERPKeyPair
    let plan: WorkerPlan
    do {
      keyPair = try ServerKeyLoader.load(keyFile: config.keyFile, logger: log)
    } catch {
      log.critical("refusing to start: server key: \(error)")
      return 1
    }
    let host = CPUAvailability.probe()
    log.debug("CPUs this process may use", ["cpus": host.summary])
    do {
      plan = try WorkerPlan.resolve(workers: config.workers, pinCores: config.pinCores, host: host)
    } catch {
      log.critical("refusing to start: \(error)")
      return 1
    }
    for warning in SocketBufferCheck.warnings(sockbufBytes: config.sockbufBytes) {
      log.warning(warning)
    }
    logEffectiveSettings(config, plan: plan)

    let reloader = makeReloader(config)
    let services: [any DaemonService]
    do {
      services = try startServices(
        DaemonStartContext(config: config, serverKeyPair: keyPair, workerPlan: plan, reloader: reloader, logSink: logSink))
    } catch {
      log.critical("refusing to start: \(error)")
      return 1
    }
    let status = "serving DERP on port \(config.port) with \(plan.workerCount) worker(s)"
    log.info(status, ["public_key": keyPair.publicKey.nodeKeyText])
    report(notifier.ready(status: status))

    while true {
      guard let signal = SignalWaiter.wait(timeoutSeconds: 3600) else { continue }
      switch signal {
      case .reload:
        handleReload(reloader)
      case .terminate(let name):
        return stop(services, after: name)
      }
    }
  }

  private func raiseFileLimit() {
    do {
      let (before, after) = try FileDescriptorLimit.raiseSoftToHard()
      if before.soft != after.soft {
        log.info("raised the open-file limit", ["from": String(before.soft), "to": String(after.soft)])
      } else {
        log.debug("open-file limit already at the hard limit", ["limit": String(after.soft)])
      }
    } catch {
      log.warning("could not raise the open-file limit: \(error)")
    }
  }

  private func logEffectiveSettings(_ config: Config, plan: WorkerPlan) {
    var fields: [(key: String, value: String)] = ConfigSchema.keys.map { spec in
      (key: spec.key, value: ConfigChange.text(spec.value(in: config)))
    }
    fields.append((key: "config_file", value: invocation.configPath ?? "(none: defaults and flags)"))
    fields.append((key: "effective_workers", value: "\(plan.workerCount) (\(plan.reason))"))
    if !plan.pinCores.isEmpty {
      fields.append((key: "effective_pinning", value: CPUList.format(plan.pinCores)))
    }
    log.log(.info, "effective settings", fields: fields)
  }

  private func makeReloader(_ config: Config) -> ConfigReloader {
    let path = invocation.configPath
    let overrides = invocation.overrides
    let options = checkOptions
    return ConfigReloader(initial: config, logSink: logSink) {
      guard let path else {
        let result = ConfigLoader.check(path: nil, overrides: overrides, options: options)
        return (result.isValid ? result.config : nil, result.diagnostics)
      }
      return ConfigLoader.reload(path: path, overrides: overrides, options: options)
    }
  }

  private func handleReload(_ reloader: ConfigReloader) {
    log.info("SIGHUP: reloading the configuration", ["config_file": invocation.configPath ?? "(none)"])
    report(notifier.reloading())
    switch reloader.reload() {
    case .unchanged:
      log.info("reload: no setting changed")
    case .applied(let applied, let needsRestart):
      for change in applied {
        log.info("reload: applied \(change)")
      }
      for change in needsRestart {
        log.warning("reload: \(change) takes effect only after a restart")
      }
    case .rejected(let reason):
      log.error("reload rejected, keeping the running settings: \(reason)")
    }
    report(notifier.reloaded(status: "serving (configuration reloaded)"))
  }

  /// Stops services in reverse start order on a helper thread while this
  /// thread keeps watching the clock and the signals: a second SIGTERM/SIGINT
  /// or the deadline ends the process even if a service hangs.
  private func stop(_ services: [any DaemonService], after signalName: String) -> Int32 {
    log.info("\(signalName): stopping gracefully", ["deadline_seconds": String(stopTimeoutSeconds)])
    report(notifier.stopping())
    let stopper = StopWork(services: services, log: log)
    if !DaemonThread.spawn({ stopper.run() }) {
      stopper.run()
    }
    let deadline = LogRateLimiter.monotonicNanoseconds() + UInt64(stopTimeoutSeconds * 1e9)
    while !stopper.isFinished {
      if LogRateLimiter.monotonicNanoseconds() >= deadline {
        log.critical("graceful stop did not finish within \(stopTimeoutSeconds) s; exiting anyway")
        return 1
      }
      if case .terminate(let name)? = SignalWaiter.wait(timeoutSeconds: 0.05) {
        log.warning("\(name) during the stop: exiting now")
        return 1
      }
    }
    log.info("stopped")
    return 0
  }

  private func report(_ result: Result<Void, SystemdNotifyError>) {
    if case .failure(let error) = result {
      log.warning("systemd notification failed: \(error)")
    }
  }
}

/// The stop sequence, shared with the helper thread.
private final class StopWork: Sendable {
  let services: [any DaemonService]
  let log: Logger
  private let done = Atomic<Bool>(false)

  init(services: [any DaemonService], log: Logger) {
    self.services = services
    self.log = log
  }

  var isFinished: Bool { done.load(ordering: .acquiring) }

  func run() {
    for service in services.reversed() {
      log.info("stopping \(service.serviceName)")
      service.stop()
    }
    done.store(true, ordering: .releasing)
  }
}
