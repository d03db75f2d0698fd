// UDP STUN binding responder (RFC 5389), as derper's `-stun`: Tailscale
// clients' netcheck measures region latency and learns their public address
// from it. Runs on its own thread, off the data plane.
@preconcurrency import Glibc
import CURing
import HDConfig
import Synchronization

public final class STUNServer: @unchecked Sendable {
  private enum LifeState { case created, running(pthread_t), stopped }

  private let addresses: [BindAddress]
  private let wildcard: Bool
  private let requestedPort: Int
  private let log: RelayLogSink
  private let stats = STUNStats()
  private let state = Mutex<LifeState>(.created)
  private var loop: STUNLoop?
  private var wakeFD: Int32 = -1
  private var socketFDs: [Int32] = []
  private var boundList: [(address: String, port: Int)] = []

  /// `bind`: IP literals (empty = every IPv4 and IPv6 address); `port`:
  /// the UDP port (0 = any free port, for tests). Throws on a bad literal.
  public init(bind: [String], port: Int, log: @escaping RelayLogSink = { _, _ in }) throws(RelayError) {
    guard (0...65535).contains(port) else { throw RelayError("stun_port \(port) is outside 0–65535") }
    var parsed: [BindAddress] = []
    for literal in bind {
      guard let address = BindAddress(literal) else {
        throw RelayError("bind address \(literal) is not an IPv4 or IPv6 literal")
      }
      parsed.append(address)
    }
    wildcard = parsed.isEmpty
    addresses = wildcard ? [BindAddress("0.0.0.0")!, BindAddress("::")!] : parsed
    requestedPort = port
    self.log = log
  }

  /// The responder for `config.stun_port` on `config.bind`; nil when stun_port is 0.
  public convenience init?(config: Config, log: @escaping RelayLogSink = { _, _ in }) throws(RelayError) {
    guard config.stunPort != 0 else { return nil }
    try self.init(bind: config.bind, port: config.stunPort, log: log)
  }

  deinit { stop() }

  /// Binds every address and starts the responder thread. With port 0 the
  /// first socket's ephemeral port is reused for the others.
  public func start() throws(RelayError) {
    try state.withLock { s throws(RelayError) in
      guard case .created = s else { throw RelayError("STUN server already started") }
      do throws(RelayError) {
        try openSockets()
        let fd = hd_eventfd()
        guard fd >= 0 else { throw RelayError.system("eventfd", errno: -fd) }
        wakeFD = fd
        let loop = STUNLoop(socketFDs: socketFDs, wakeFD: fd, stats: stats)
        self.loop = loop
        s = .running(try Self.spawn(loop))
      } catch {
        closeAll()
        boundList = []
        s = .stopped
        throw error
      }
    }
    let endpoints = boundList.map { $0.address.contains(":") ? "[\($0.address)]:\($0.port)" : "\($0.address):\($0.port)" }
    log(.info, "STUN responder listening on UDP \(endpoints.joined(separator: ", "))")
  }

  /// Where the responder listens: one entry per socket (after start()).
  public var boundAddresses: [(address: String, port: Int)] { state.withLock { _ in boundList } }

  /// The UDP port in use (after start()); 0 before.
  public var port: Int { boundAddresses.first?.port ?? 0 }

  /// Stops the thread and closes the sockets. Idempotent, callable from any
  /// thread. The loop only blocks in poll(2), so it exits within
  /// milliseconds; after `timeoutSeconds` stop() gives up waiting, leaves the
  /// sockets to the thread and returns false.
  @discardableResult
  public func stop(timeoutSeconds: Double = 2) -> Bool {
    state.withLock { s -> Bool in
      guard case .running(let thread) = s else {
        s = .stopped
        return true
      }
      s = .stopped
      var one: UInt64 = 1
      _ = write(wakeFD, &one, 8)
      let deadline = monotonicNanoseconds() + UInt64(max(0, timeoutSeconds) * 1e9)
      while loop?.exited.load(ordering: .acquiring) != true {
        guard monotonicNanoseconds() < deadline else {
          pthread_detach(thread)
          log(.error, "STUN responder thread did not stop within \(timeoutSeconds) s")
          return false
        }
        var pause = timespec(tv_sec: 0, tv_nsec: 1_000_000)
        nanosleep(&pause, nil)
      }
      pthread_join(thread, nil)
      closeAll()
      let s = stats.snapshot()
      log(.info, "STUN responder stopped: requests ipv4 \(s.requestsIPv4), ipv6 \(s.requestsIPv6), "
        + "responses \(s.responses), dropped \(s.malformedTotal), send failures \(s.sendFailures)")
      return true
    }
  }

  /// Counters now; any thread (the metrics scrape).
  public func statsSnapshot() -> STUNStatsSnapshot { stats.snapshot() }

  // MARK: Setup

  private func openSockets() throws(RelayError) {
    var port = requestedPort
    for address in addresses {
      // All-addresses mode on a host without IPv6 still serves IPv4.
      if wildcard && address.family == AF_INET6 && !STUNSockets.ipv6Available() {
        log(.info, "STUN responder: no IPv6 on this host, IPv4 only")
        continue
      }
      let (fd, boundPort) = try STUNSockets.open(address, port: port)
      socketFDs.append(fd)
      boundList.append((address.text, boundPort))
      if port == 0 { port = boundPort }
    }
  }

  private func closeAll() {
    for fd in socketFDs { close(fd) }
    socketFDs = []
    if wakeFD >= 0 { close(wakeFD) }
    wakeFD = -1
  }

  private static func spawn(_ loop: STUNLoop) throws(RelayError) -> pthread_t {
    switch PlainThread.start(name: "hd-stun", { loop.run() }) {
    case .success(let thread): return thread
    case .failure(let why): throw RelayError.system("pthread_create for the STUN responder", errno: why.errno)
    }
  }
}
