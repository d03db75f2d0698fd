// Facts that cannot be read from files: they come from system calls made by
// this process (io_uring setup, a TCP_ULP setsockopt, affinity, rlimits, an
// HTTP request). Live code makes the calls; fixtures replay recorded answers
// from probes.json, so every check runs the same way against both.

/// The answer of a probe that either works or fails with an errno.
public enum ProbeOutcome: Sendable, Equatable {
  case ok
  case failed(errno: Int32)
}

/// A soft/hard resource limit; nil means unlimited (RLIM_INFINITY).
public struct ResourceLimit: Sendable, Equatable {
  public var soft: UInt64?
  public var hard: UInt64?

  public init(soft: UInt64?, hard: UInt64?) {
    self.soft = soft
    self.hard = hard
  }
}

/// What a GET of the relay's health endpoint returned.
public enum HealthProbeResult: Sendable, Equatable {
  /// The server answered: HTTP status and the start of the body.
  case answered(status: Int, body: String)
  /// No HTTP answer: connection refused, timeout, garbage (errno or a reason).
  case unreachable(reason: String)
}

public protocol HostProbes: Sendable {
  /// Sets up (and tears down) an 8-entry io_uring with no flags.
  func ioUringSetup() -> ProbeOutcome
  /// Same with IORING_SETUP_SQPOLL, what `sqpoll: true` asks the kernel for.
  func ioUringSetupSQPoll() -> ProbeOutcome
  /// `setsockopt(TCP_ULP, "tls")` on a connected loopback TCP socket.
  func kernelTLSULP() -> ProbeOutcome
  /// CPUs this process may run on (sched_getaffinity); nil when unknown.
  func affinityCPUs() -> [Int]?
  func openFilesLimit() -> ResourceLimit
  func lockedMemoryLimit() -> ResourceLimit
  func effectiveUserID() -> UInt32
  /// bind() a TCP socket to 127.0.0.1:port and close it: EACCES means this
  /// process may not use a port below ip_unprivileged_port_start.
  func bindLoopback(port: Int) -> ProbeOutcome
  /// GET http://host:port/path with a bounded wait.
  func httpGet(host: String, port: Int, path: String, timeoutMilliseconds: Int) -> HealthProbeResult
  /// The processes listening on TCP `port` (any address); empty when the port is free.
  func tcpListeners(port: Int) -> [PortListener]
  /// The addresses `host` resolves to (getaddrinfo).
  func resolve(host: String) -> HostResolution
  /// The addresses of this host's interfaces; nil when they cannot be read.
  func localAddresses() -> [String]?
}
