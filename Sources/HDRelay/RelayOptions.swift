// Everything the data plane needs to start, already resolved by the lifecycle
// code (worker count from affinity/cgroup, key loaded from key_file, TLS
// context built from the certificate files).
import HDConfig
import HDProtocol
import HDTLS

/// Where the relay writes its (rare, off-hot-path) log lines. The lifecycle
/// code supplies it; the data plane calls it only for setup, errors and
/// rate-limited warnings, never per packet.
public typealias RelayLogSink = @Sendable (LogLevel, String) -> Void

/// A TLS server context the relay can hand new connections to. Implemented by
/// the TLS integration (Sources/HDRelay/TLS/); until a connection transport for
/// it exists, `Relay.start()` refuses a non-nil context with a clear error.
public protocol RelayTLSContext: AnyObject, Sendable {}

/// Resolved start-up options of a `Relay`.
public struct RelayOptions: Sendable {
  /// The effective configuration (port, bind, sockbuf, sqpoll, rate limits…).
  public var config: Config
  /// The server's DERP key pair (ServerKey frame, ClientInfo/ServerInfo boxes).
  public var serverKeyPair: DERPKeyPair
  /// Number of data-plane threads, already resolved (> 0).
  public var workerCount: Int
  /// Worker i is pinned to `pinCores[i]`; nil = no pinning.
  public var pinCores: [Int]?
  /// TLS on the DERP port; nil = plain TCP.
  public var tls: (any RelayTLSContext)?
  /// Log sink for setup messages and rate-limited warnings.
  public var log: RelayLogSink
  /// KeepAlive period (derper: 60 s). Tests shorten it; production keeps the default.
  public var keepAliveSeconds: Double = RelayDefaults.keepAliveSeconds
  /// Upper bound of the per-connection random jitter added to each period (derper: [0, 5 s)).
  public var keepAliveJitterSecondsMax: Double = RelayDefaults.keepAliveJitterSecondsMax
  /// mesh.key_file's secret (MeshKeyFile.load); nil = no client is a mesh peer.
  public var meshKey: DERPKey?
  /// verify_clients.url: how long the controller has to answer (derper: 5 s). Tests shorten it.
  public var verifyTimeoutSeconds: Double = RelayDefaults.verifyTimeoutSeconds
  /// mesh.peers: seconds between attempts to reach a peer (derper: 5). Tests shorten it.
  var meshRetrySeconds = 5.0
  /// verify_clients.url: verifications queued or in flight per worker before new
  /// ones count as queue_full (tests lower it).
  var verifyPendingPerWorkerMax = ClientVerifier.pendingPerWorkerMaxDefault
  /// Receive buffers queued frames may hold per worker before frames are
  /// copied instead of sent in place (tests lower it).
  var recvBuffersHeldForFramesMax = Tuning.recvBuffersHeldForFramesMax
  /// What https mesh peers and an https verify_clients.url must chain to.
  var outboundTrust: TLSTrust { .outbound(caFile: config.tlsCAFile, setting: "tls_ca_file") }

  public init(
    config: Config, serverKeyPair: DERPKeyPair, workerCount: Int, pinCores: [Int]? = nil,
    tls: (any RelayTLSContext)? = nil, log: @escaping RelayLogSink = { _, _ in }
  ) {
    self.config = config
    self.serverKeyPair = serverKeyPair
    self.workerCount = workerCount
    self.pinCores = pinCores
    self.tls = tls
    self.log = log
  }
}

/// Protocol timing defaults of the data plane (derper's values).
public enum RelayDefaults {
  public static let keepAliveSeconds = Double(Tuning.keepAliveTicks) * tickSeconds
  public static let keepAliveJitterSecondsMax = Double(Tuning.keepAliveJitterTicksMax) * tickSeconds
  /// Resolution of every data-plane timer (keepalive, deadlines, rate-limit resume).
  public static let tickSeconds = Double(Tuning.tickNanoseconds) / 1e9
  /// Connection setup deadline from accept to registration.
  public static let handshakeTimeoutSeconds = Double(Tuning.handshakeTimeoutTicks) * tickSeconds
  /// Admission controller answer deadline (derper's verify-client-url timeout).
  public static let verifyTimeoutSeconds = 5.0
}
