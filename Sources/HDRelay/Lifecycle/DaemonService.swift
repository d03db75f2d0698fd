// Something the daemon started and must stop on SIGTERM: the relay, the
// metrics server. `stop()` must return in bounded time; the runner also
// enforces an overall deadline in case one does not.
import HDConfig
import HDProtocol

public protocol DaemonService: AnyObject, Sendable {
  /// For log lines ("stopping metrics server").
  var serviceName: String { get }
  func stop()
}

/// What the daemon prepared before starting services.
public struct DaemonStartContext: Sendable {
  public var config: Config
  public var serverKeyPair: DERPKeyPair
  public var workerPlan: WorkerPlan
  /// Register live-reload hooks here (TLS certificate reload).
  public var reloader: ConfigReloader
  public var logSink: LogSink
}
