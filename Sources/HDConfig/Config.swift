// The typed configuration every component reads. Plain values only: the schema
// (ConfigSchema.swift) is what knows YAML keys, CLI flags, ranges and docs, and
// it maps onto these fields. Defaults here must equal the schema's defaults
// (a test checks that).

/// How the DERP port uses kernel TLS.
public enum KTLSMode: String, Sendable, CaseIterable {
  /// Userspace handshake, then kernel TLS when the kernel has the module.
  case auto
  /// Refuse to start without kernel TLS (the C++ server's behaviour).
  case required
  /// Always encrypt in userspace.
  case off
}

/// Log verbosity, ordered from most to least verbose.
public enum LogLevel: String, Sendable, CaseIterable, Comparable {
  case trace, debug, info, warning, error, critical, off

  /// Accepts the canonical names plus `warn`, the C++ server's spelling.
  public init?(configValue: String) {
    if configValue == "warn" {
      self = .warning
      return
    }
    self.init(rawValue: configValue)
  }

  private var rank: Int {
    switch self {
    case .trace: return 0
    case .debug: return 1
    case .info: return 2
    case .warning: return 3
    case .error: return 4
    case .critical: return 5
    case .off: return 6
    }
  }

  public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rank < rhs.rank }
}

/// Log line format on stderr.
public enum LogFormat: String, Sendable, CaseIterable {
  case text, json
}

/// The metrics/health/debug HTTP server.
public struct MetricsConfig: Sendable, Equatable {
  /// 0 = metrics server off.
  public var port: Int
  /// IP literals to listen on; empty = all addresses.
  public var bind: [String]
  public var tlsCert: String?
  public var tlsKey: String?
  /// Serves /debug/workers and /debug/peers (exposes peer public keys).
  public var debugEndpoints: Bool

  public init(
    port: Int = 0, bind: [String] = [], tlsCert: String? = nil, tlsKey: String? = nil,
    debugEndpoints: Bool = false
  ) {
    self.port = port
    self.bind = bind
    self.tlsCert = tlsCert
    self.tlsKey = tlsKey
    self.debugEndpoints = debugEndpoints
  }
}

/// Meshing with the other relays of a region.
public struct MeshConfig: Sendable, Equatable {
  /// File holding the shared mesh secret (64 hex chars).
  public var keyFile: String?
  /// Other relays, `host[:port]` or URLs.
  public var peers: [String]

  /// A mesh.peers link that hears nothing for this long is dropped and redialled.
  public var linkTimeoutSeconds: Int = MeshConfig.defaultLinkTimeoutSeconds
  public static let defaultLinkTimeoutSeconds = 15

  public init(keyFile: String? = nil, peers: [String] = []) {
    self.keyFile = keyFile
    self.peers = peers
  }
}

/// External admission controller for clients.
public struct VerifyClientsConfig: Sendable, Equatable {
  public var url: String?
  /// Admit clients when the controller cannot be reached.
  public var failOpen: Bool

  public init(url: String? = nil, failOpen: Bool = false) {
    self.url = url
    self.failOpen = failOpen
  }
}

/// An ACME challenge type the relay can answer.
public enum ACMEChallengeType: String, Sendable, CaseIterable {
  /// RFC 8737: answered in the DERP port's own TLS handshake (the CA connects to port 443).
  case tlsALPN01 = "tls-alpn-01"
  /// RFC 8555 §8.3: answered on acme.http_port (the CA connects to port 80).
  case http01 = "http-01"
}

/// Certificates from an ACME CA (Let's Encrypt by default), obtained and
/// renewed by the relay itself.
public struct ACMEConfig: Sendable, Equatable {
  public static let letsEncryptDirectory = "https://acme-v02.api.letsencrypt.org/directory"
  public static let defaultCacheDir = "/var/lib/hyper-derp/acme"

  /// DNS names the certificate is for; ACME is on when this or ipAddresses is non-empty.
  public var domains: [String]
  /// IP addresses the certificate is for (RFC 8738).
  public var ipAddresses: [String]
  /// Contact address given to the CA (expiry and policy mail).
  public var email: String?
  public var directoryURL: String
  /// CA bundle trusted for the directory's HTTPS (nil = the system store).
  public var directoryCAFile: String?
  /// Account key and certificates (mode 0600).
  public var cacheDir: String
  /// Challenge types to use, in order of preference.
  public var challenges: [ACMEChallengeType]
  /// Plain-HTTP port for HTTP-01 (and redirects to https); 0 = none.
  public var httpPort: Int

  /// The challenges the relay answers: http-01 only with an http_port.
  public var usableChallenges: [ACMEChallengeType] { challenges.filter { $0 != .http01 || httpPort != 0 } }
  /// External Account Binding key identifier and the file holding its HMAC key.
  public var eabKid: String?
  public var eabHMACKeyFile: String?

  public init(
    domains: [String] = [], ipAddresses: [String] = [], email: String? = nil,
    directoryURL: String = ACMEConfig.letsEncryptDirectory, directoryCAFile: String? = nil,
    cacheDir: String = ACMEConfig.defaultCacheDir, challenges: [ACMEChallengeType] = [.tlsALPN01, .http01],
    httpPort: Int = 0, eabKid: String? = nil, eabHMACKeyFile: String? = nil
  ) {
    self.domains = domains
    self.ipAddresses = ipAddresses
    self.email = email
    self.directoryURL = directoryURL
    self.directoryCAFile = directoryCAFile
    self.cacheDir = cacheDir
    self.challenges = challenges
    self.httpPort = httpPort
    self.eabKid = eabKid
    self.eabHMACKeyFile = eabHMACKeyFile
  }

  /// True when the relay gets its certificate by ACME.
  public var enabled: Bool { !domains.isEmpty || !ipAddresses.isEmpty }
}

/// The effective configuration after built-in defaults, the YAML file and CLI flags.
public struct Config: Sendable, Equatable {
  /// DERP listen port (TCP).
  public var port: Int
  /// IP literals the DERP port listens on; empty = all addresses.
  public var bind: [String]
  /// Data-plane threads; 0 = one per CPU this process may run on.
  public var workers: Int
  /// Worker i is pinned to pinCores[i]; empty = no pinning.
  public var pinCores: [Int]
  /// SO_SNDBUF and SO_RCVBUF per peer socket; 0 = kernel default.
  public var sockbufBytes: Int
  /// New connections per second; 0 = unlimited.
  public var maxAcceptRatePerSecond: Int
  public var sqpoll: Bool
  /// How long a worker keeps polling for completions after handling some
  /// before it sleeps; 0 = sleep at once.
  public var busyPollMicroseconds: Int
  public var tlsCert: String?
  public var tlsKey: String?
  /// CA bundle for the TLS connections the relay makes (mesh peers, the
  /// verify_clients controller); nil = OpenSSL's default verify paths.
  public var tlsCAFile: String? = nil
  public var ktls: KTLSMode
  public var logLevel: LogLevel
  public var logFormat: LogFormat
  /// Per-peer receive budget; 0 = off.
  public var peerRateLimitBytesPerSecond: Int64
  /// The server's private DERP key file; nil = a new key at each start.
  public var keyFile: String?
  /// UDP STUN responder port; 0 = off.
  public var stunPort: Int
  public var mesh: MeshConfig
  public var verifyClients: VerifyClientsConfig
  public var metrics: MetricsConfig
  public var acme: ACMEConfig

  public init(
    port: Int = 3340, bind: [String] = [], workers: Int = 0, pinCores: [Int] = [],
    sockbufBytes: Int = 0, maxAcceptRatePerSecond: Int = 0, sqpoll: Bool = false,
    busyPollMicroseconds: Int = Config.defaultBusyPollMicroseconds,
    tlsCert: String? = nil, tlsKey: String? = nil, ktls: KTLSMode = .auto,
    logLevel: LogLevel = .info, logFormat: LogFormat = .text,
    peerRateLimitBytesPerSecond: Int64 = 0, keyFile: String? = nil, stunPort: Int = 0,
    mesh: MeshConfig = MeshConfig(), verifyClients: VerifyClientsConfig = VerifyClientsConfig(),
    metrics: MetricsConfig = MetricsConfig(), acme: ACMEConfig = ACMEConfig()
  ) {
    self.port = port
    self.bind = bind
    self.workers = workers
    self.pinCores = pinCores
    self.sockbufBytes = sockbufBytes
    self.maxAcceptRatePerSecond = maxAcceptRatePerSecond
    self.sqpoll = sqpoll
    self.busyPollMicroseconds = busyPollMicroseconds
    self.tlsCert = tlsCert
    self.tlsKey = tlsKey
    self.ktls = ktls
    self.logLevel = logLevel
    self.logFormat = logFormat
    self.peerRateLimitBytesPerSecond = peerRateLimitBytesPerSecond
    self.keyFile = keyFile
    self.stunPort = stunPort
    self.mesh = mesh
    self.verifyClients = verifyClients
    self.metrics = metrics
    self.acme = acme
  }

  /// `busy_poll`'s default (see the schema row for the trade-off).
  public static let defaultBusyPollMicroseconds = 50

  /// True when the DERP port serves TLS.
  public var tlsEnabled: Bool { (tlsCert != nil && tlsKey != nil) || acme.enabled }
}
